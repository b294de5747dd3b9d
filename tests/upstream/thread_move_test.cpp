// An idle pooled connection taken by a transaction on another io_context (another relay I/O
// thread) moves to that io_context with its TLS session, so its I/O completes on the taker's
// thread: here only the taker's io_context runs, and the transaction must still finish.
#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <nlohmann/json.hpp>

#include <doctest/doctest.h>

#include "test_support.hpp"
#include "upstream/smtp_upstream.hpp"

using namespace dkr::upstream_test;
using dkr::upstream::OutboundMessage;
using dkr::upstream::SmtpReply;
using dkr::upstream::UpstreamTransaction;
namespace asio = boost::asio;

namespace {

// Runs `io` (and the pool's housekeeping io_context, which does no connection I/O) until
// `condition` holds or 10 s pass.
bool run_only(asio::io_context& io, asio::io_context& housekeeping, const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if (io.stopped()) io.restart();
    io.run_one_for(20ms);
    housekeeping.restart();
    housekeeping.poll();
  }
  return true;
}

// One transaction driven from a strand of `io` while no other io_context than `io` (and the
// housekeeping one) runs.
void deliver_on(dkr::upstream::SmtpUpstream& upstream, asio::io_context& io, asio::io_context& housekeeping,
                const std::string& rcpt, const TempDir& spill) {
  auto strand = asio::make_strand(io);
  std::unique_ptr<UpstreamTransaction> transaction;
  std::optional<SmtpReply> reply;
  upstream.begin(strand, [&](std::unique_ptr<UpstreamTransaction> t, SmtpReply r) {
    transaction = std::move(t);
    reply = std::move(r);
  });
  REQUIRE(run_only(io, housekeeping, [&] { return reply.has_value(); }));
  REQUIRE(transaction);
  auto step = [&](auto&& start) {
    reply.reset();
    start([&](SmtpReply r) { reply = std::move(r); });
    REQUIRE(run_only(io, housekeeping, [&] { return reply.has_value(); }));
    return reply->code;
  };
  CHECK(step([&](auto done) { transaction->mail_from("<s@example.com>", done); }) == 250);
  CHECK(step([&](auto done) { transaction->rcpt_to(rcpt, done); }) == 250);
  CHECK(step([&](auto done) {
          transaction->data(OutboundMessage{"", make_spool("Subject: x\r\n\r\nhello\r\n", spill.path())}, done);
        }) == 250);
  transaction.reset();  // gives the connection back to the pool
  REQUIRE(run_only(io, housekeeping, [&] { return upstream.idle_connections() == 1; }));
}

}  // namespace

TEST_SUITE("aiosmtpd") {
  TEST_CASE("an idle connection taken on another io_context moves there and keeps its TLS session") {
    PythonServer server("recording_upstream.py", tls_server_args());
    REQUIRE(server.started());
    TempDir spill;
    auto settings = tls_settings_for(server.port(), "localhost");
    settings.pool_size = 1;
    asio::io_context housekeeping, first, second;
    {
      auto upstream = dkr::upstream::SmtpUpstream::create(housekeeping.get_executor(), settings).value();
      deliver_on(*upstream, first, housekeeping, "<a@example.org>", spill);   // opened on `first`
      deliver_on(*upstream, second, housekeeping, "<b@example.org>", spill);  // moved to `second`
      deliver_on(*upstream, second, housekeeping, "<c@example.org>", spill);  // stays there
      deliver_on(*upstream, first, housekeeping, "<d@example.org>", spill);   // and back
      CHECK(upstream->connections_moved_between_threads() == 2);
      CHECK(upstream->idle_connections() == 1);
      upstream.reset();  // QUITs the idle connection on `first`, where it lives now
      first.restart();
      first.run_for(3s);
    }
    CHECK(server.connections() == 1);
    for (int n = 1; n <= 4; ++n) {
      char name[32];
      std::snprintf(name, sizeof name, "msg-%04d.json", n);
      const auto text = read_file(server.dir() / name);
      REQUIRE(text.has_value());
      const auto envelope = nlohmann::json::parse(*text);
      CHECK(envelope["tls"] == true);
      CHECK(envelope["connection"] == 1);
    }
  }
}
