// Several sessions on their own strands, an io_context run by two threads, a small pool.
#include <atomic>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <doctest/doctest.h>

#include "test_support.hpp"

using namespace dkr::upstream_test;
namespace asio = boost::asio;
using dkr::upstream::OutboundMessage;
using dkr::upstream::SmtpReply;
using dkr::upstream::UpstreamTransaction;

namespace {

struct Tally {
  std::atomic<int> delivered{0};
  std::atomic<int> failed{0};
  std::atomic<int> wrong_executor{0};
};

// One client transaction driven by callbacks, as the inbound session does.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(asio::io_context& io, dkr::upstream::Upstream& upstream, Tally& tally, int n, const TempDir& spill)
      : strand_(asio::make_strand(io)),
        upstream_(upstream),
        tally_(tally),
        n_(n),
        message_{"X-Session: " + std::to_string(n) + "\r\n",
                 make_spool("Subject: " + std::to_string(n) + "\r\n\r\n.body\r\n", spill.path())} {}

  void start() {
    upstream_.begin(strand_, [self = shared_from_this()](std::unique_ptr<UpstreamTransaction> t, SmtpReply r) {
      self->check_executor();
      if (!t) return self->fail(r);
      self->transaction_ = std::move(t);
      self->transaction_->mail_from("<s@example.com>", [self](SmtpReply r) {
        self->check_executor();
        if (r.code != 250) return self->fail(r);
        self->transaction_->rcpt_to("<r" + std::to_string(self->n_) + "@example.org>", [self](SmtpReply r) {
          self->check_executor();
          if (r.code != 250) return self->fail(r);
          self->transaction_->data(self->message_, [self](SmtpReply r) {
            self->check_executor();
            if (r.code != 250) return self->fail(r);
            self->transaction_.reset();
            ++self->tally_.delivered;
          });
        });
      });
    });
  }

 private:
  void check_executor() {
    if (!strand_.running_in_this_thread()) ++tally_.wrong_executor;
  }
  void fail(const SmtpReply& r) {
    MESSAGE("session " << n_ << " failed: " << r.code << " " << text_of(r));
    transaction_.reset();
    ++tally_.failed;
  }

  asio::strand<asio::io_context::executor_type> strand_;
  dkr::upstream::Upstream& upstream_;
  Tally& tally_;
  int n_;
  OutboundMessage message_;
  std::unique_ptr<UpstreamTransaction> transaction_;
};

}  // namespace

TEST_SUITE("aiosmtpd") {
  TEST_CASE("concurrent sessions on two threads share a bounded pool") {
    PythonServer server("recording_upstream.py", {});
    REQUIRE(server.started());
    TempDir spill;
    asio::io_context io;
    auto settings = settings_for(server.port());
    settings.pool_size = 2;
    auto created = dkr::upstream::SmtpUpstream::create(io.get_executor(), settings);
    REQUIRE(created.ok());
    std::unique_ptr<dkr::upstream::SmtpUpstream> upstream = std::move(created.value());
    Tally tally;
    constexpr int sessions = 12;
    for (int round = 0; round < 2; ++round) {  // the second round finds pooled connections
      for (int i = 0; i < sessions / 2; ++i) {
        std::make_shared<Session>(io, *upstream, tally, round * sessions / 2 + i, spill)->start();
      }
      std::vector<std::thread> threads;
      for (int i = 0; i < 2; ++i) threads.emplace_back([&] { io.run(); });
      CHECK(wait_until([&] { return tally.delivered + tally.failed == (round + 1) * sessions / 2; }, 30s));
      CHECK(wait_until([&] { return upstream->idle_connections() == 2; }, 5s));
      if (round == 1)
        upstream.reset();  // QUITs the idle connections; then the io_context runs out of work
      else
        io.stop();
      for (auto& t : threads) t.join();
      io.restart();
    }
    CHECK(tally.delivered == sessions);
    CHECK(tally.failed == 0);
    CHECK(tally.wrong_executor == 0);
    int messages = 0;
    for (int n = 1; n <= sessions; ++n) {
      char name[32];
      std::snprintf(name, sizeof name, "msg-%04d.eml", n);
      messages += read_file(server.dir() / name).has_value() ? 1 : 0;
    }
    CHECK(messages == sessions);
    CHECK(server.connections() <= sessions - 2);  // the second round reused the two pooled ones
  }

}  // TEST_SUITE
