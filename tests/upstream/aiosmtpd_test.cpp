// Against aiosmtpd (recording_upstream.py): delivery, per-recipient replies, pooling, abort before
// DATA, STARTTLS verification and AUTH.
#include <sstream>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <doctest/doctest.h>

#include "test_support.hpp"

using namespace dkr::upstream_test;
using dkr::upstream::OutboundMessage;
using dkr::upstream::SmtpReply;
using dkr::upstream::StartTlsPolicy;

namespace {

// Appends a filler line so that `c` ends exactly at `size` (a CRLF ending there).
void pad_to(std::string& c, std::size_t size) {
  REQUIRE(size >= c.size() + 3);
  c += std::string(size - c.size() - 2, 'f');
  c += "\r\n";
}

// Dot lines everywhere, including the first byte of the second 64 KiB spool chunk and right after
// a CRLF split across the second boundary; a long line; no final CRLF.
std::string tricky_content() {
  std::string c = "From: <a@example.com>\r\nTo: <b@example.com>\r\nSubject: dots\r\n\r\n";
  c += ".\r\n..\r\n.leading dot\r\n...\r\n";
  c += std::string(998, 'L') + "\r\n";
  pad_to(c, 65536);
  c += ".at the first chunk boundary\r\n";
  pad_to(c, 131073);  // CR at 131071, LF at 131072 (first byte of the third chunk)
  c += ".after a split CRLF\r\n";
  for (int i = 0; i < 3000; ++i) c += (i % 7 == 0 ? ".dotted " : "plain ") + std::to_string(i) + "\r\n";
  c += ".last line without CRLF";
  return c;
}

const std::string prepend =
    "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=sel;\r\n\tb=abc\r\nReceived: from app by relay\r\n";

nlohmann::json envelope_of(const PythonServer& server, int n) {
  char name[32];
  std::snprintf(name, sizeof name, "msg-%04d.json", n);
  const auto text = read_file(server.dir() / name);
  REQUIRE(text.has_value());
  return nlohmann::json::parse(*text);
}

std::optional<std::string> message_of(const PythonServer& server, int n) {
  char name[32];
  std::snprintf(name, sizeof name, "msg-%04d.eml", n);
  return read_file(server.dir() / name);
}

OutboundMessage outbound(const std::string& content, const TempDir& spill, std::uint64_t threshold = 1 << 20) {
  return OutboundMessage{prepend, make_spool(content, spill.path(), threshold)};
}

void deliver_simple(Driver& d, const std::string& rcpt, const TempDir& spill) {
  auto begun = d.begin();
  REQUIRE(begun.transaction);
  CHECK(d.mail(*begun.transaction, "<s@example.com>").code == 250);
  CHECK(d.rcpt(*begun.transaction, rcpt).code == 250);
  CHECK(d.data(*begun.transaction, outbound("Subject: x\r\n\r\nhello\r\n", spill)).code == 250);
}

}  // namespace

TEST_SUITE("aiosmtpd") {
  TEST_CASE("delivery is byte-exact: prepend + content, dots unstuffed, CRLF added at the end") {
    PythonServer server("recording_upstream.py", {});
    REQUIRE(server.started());
    TempDir spill;
    Driver d(settings_for(server.port()));
    const std::string content = tricky_content();

    for (std::uint64_t threshold : {std::uint64_t{1} << 24, std::uint64_t{4096}}) {  // memory, then spilled
      auto begun = d.begin();
      REQUIRE(begun.transaction);
      CHECK(begun.reply.code == 250);
      const SmtpReply mail = d.mail(*begun.transaction, "<sender@example.com> BODY=8BITMIME");
      CHECK(mail.code == 250);
      CHECK(d.rcpt(*begun.transaction, "<one@example.org>").code == 250);
      CHECK(d.rcpt(*begun.transaction, "<two@example.org>").code == 250);
      auto message = outbound(content, spill, threshold);
      CHECK(message.content->spilled() == (threshold == 4096));
      const SmtpReply final_reply = d.data(*begun.transaction, message);
      CHECK(final_reply.code == 250);
      CHECK(text_of(final_reply).find("2.0.0 Ok: queued as") == 0);
    }
    for (int n : {1, 2}) {
      const auto recorded = message_of(server, n);
      REQUIRE(recorded.has_value());
      CHECK(recorded->size() == prepend.size() + content.size() + 2);
      CHECK(*recorded == prepend + content + "\r\n");
      const auto env = envelope_of(server, n);
      CHECK(env["mail_from"] == "sender@example.com");
      CHECK(env["mail_options"] == nlohmann::json::array({"BODY=8BITMIME"}));
      CHECK(env["rcpt_tos"] == nlohmann::json::array({"one@example.org", "two@example.org"}));
    }
    CHECK(d.upstream().offers_smtputf8());
    CHECK(d.upstream().reachable());
  }

  TEST_CASE("content marked as free of dot lines goes out as it lies, in memory and spilled") {
    PythonServer server("recording_upstream.py", {});
    REQUIRE(server.started());
    TempDir spill;
    Driver d(settings_for(server.port()));
    std::string content = "From: <a@example.com>\r\nSubject: no dot lines\r\n\r\n";
    for (int i = 0; i < 4000; ++i) content += "line " + std::to_string(i) + ". More. Dots... inside only.\r\n";
    int n = 0;
    for (const std::string& body : {content, content + "no final line end."}) {
      for (std::uint64_t threshold : {std::uint64_t{1} << 24, std::uint64_t{4096}}) {
        auto begun = d.begin();
        REQUIRE(begun.transaction);
        CHECK(d.mail(*begun.transaction, "<s@example.com>").code == 250);
        CHECK(d.rcpt(*begun.transaction, "<one@example.org>").code == 250);
        auto spool = make_spool(body, spill.path(), threshold);
        spool->note_no_dot_lines();
        OutboundMessage message{prepend, spool};
        CHECK(spool->spilled() == (threshold == 4096));
        CHECK(d.data(*begun.transaction, message).code == 250);
        const auto recorded = message_of(server, ++n);
        REQUIRE(recorded.has_value());
        CHECK(*recorded == prepend + body + (body.ends_with("\r\n") ? "" : "\r\n"));
      }
    }
  }

  TEST_CASE("per-recipient replies are relayed as they are; DATA refusal too") {
    PythonServer server("recording_upstream.py", {});
    REQUIRE(server.started());
    TempDir spill;
    Driver d(settings_for(server.port()));
    auto begun = d.begin();
    REQUIRE(begun.transaction);
    auto& t = *begun.transaction;
    CHECK(d.mail(t, "<s@example.com>").code == 250);
    const SmtpReply rejected = d.rcpt(t, "<reject550-x@example.org>");
    CHECK(rejected.code == 550);
    CHECK(text_of(rejected) == "5.1.1 <reject550-x@example.org>: mailbox unavailable");
    const SmtpReply deferred = d.rcpt(t, "<defer451@example.org>");
    CHECK(deferred.code == 451);
    CHECK(text_of(deferred) == "4.2.1 <defer451@example.org>: mailbox busy, try later");
    CHECK(d.rcpt(t, "<good@example.org>").code == 250);
    CHECK(d.data(t, outbound("Subject: s\r\n\r\nbody\r\n", spill)).code == 250);
    CHECK(envelope_of(server, 1)["rcpt_tos"] == nlohmann::json::array({"good@example.org"}));

    auto second = d.begin();
    REQUIRE(second.transaction);
    CHECK(d.mail(*second.transaction, "<s@example.com>").code == 250);
    CHECK(d.rcpt(*second.transaction, "<datareject554@example.org>").code == 250);
    const SmtpReply refused = d.data(*second.transaction, outbound("Subject: s\r\n\r\nbody\r\n", spill));
    CHECK(refused.code == 554);
    CHECK(text_of(refused) == "5.6.0 message refused");
    CHECK_FALSE(message_of(server, 2).has_value());
  }

  TEST_CASE("line breaks in arguments are refused locally") {
    PythonServer server("recording_upstream.py", {});
    REQUIRE(server.started());
    Driver d(settings_for(server.port()));
    auto begun = d.begin();
    REQUIRE(begun.transaction);
    CHECK(d.mail(*begun.transaction, "<s@example.com>\r\nRCPT TO:<evil@example.org>").code == 501);
  }

  TEST_CASE("the pool reuses one connection for consecutive transactions") {
    PythonServer server("recording_upstream.py", {});
    REQUIRE(server.started());
    TempDir spill;
    Driver d(settings_for(server.port()));
    deliver_simple(d, "<a@example.org>", spill);
    REQUIRE(d.run_until([&] { return d.upstream().idle_connections() == 1; }));
    deliver_simple(d, "<b@example.org>", spill);
    CHECK(server.connections() == 1);
    CHECK(envelope_of(server, 1)["connection"] == 1);
    CHECK(envelope_of(server, 2)["connection"] == 1);
    REQUIRE(d.run_until([&] { return d.upstream().idle_connections() == 1; }));
  }

  TEST_CASE("idle connections expire") {
    PythonServer server("recording_upstream.py", {});
    REQUIRE(server.started());
    TempDir spill;
    auto settings = settings_for(server.port());
    settings.idle_timeout = 300ms;
    Driver d(settings);
    deliver_simple(d, "<a@example.org>", spill);
    REQUIRE(d.run_until([&] { return d.upstream().idle_connections() == 1; }));
    CHECK(d.run_until([&] { return d.upstream().idle_connections() == 0; }, 5s));
    deliver_simple(d, "<b@example.org>", spill);
    CHECK(server.connections() == 2);
  }

  TEST_CASE("abort before DATA resets the upstream transaction and keeps the connection") {
    PythonServer server("recording_upstream.py", {});
    REQUIRE(server.started());
    TempDir spill;
    Driver d(settings_for(server.port()));
    auto pending = std::make_shared<Driver::Awaited>();
    {
      auto begun = d.begin();
      REQUIRE(begun.transaction);
      auto& t = *begun.transaction;
      CHECK(d.mail(t, "<s@example.com>").code == 250);
      CHECK(d.rcpt(t, "<aborted@example.org>").code == 250);
      // An RCPT still in flight when the client goes away gets a 4xx, exactly once.
      t.rcpt_to("<also-aborted@example.org>", d.recorder(pending));
      t.abort();
      CHECK(d.wait(pending).code == 451);
      auto late = std::make_shared<Driver::Awaited>();
      t.data(outbound("Subject: no\r\n\r\n", spill), d.recorder(late));
      CHECK(d.wait(late).code == 451);
    }
    // RSET went through and the connection is back in the pool: the next transaction on it carries
    // none of the aborted recipients.
    REQUIRE(d.run_until([&] { return d.upstream().idle_connections() == 1; }));
    deliver_simple(d, "<next@example.org>", spill);
    CHECK(server.connections() == 1);
    CHECK(envelope_of(server, 1)["rcpt_tos"] == nlohmann::json::array({"next@example.org"}));
    CHECK_FALSE(message_of(server, 2).has_value());
    CHECK(pending->calls == 1);
  }

  TEST_CASE("dropping a transaction object abandons it like abort") {
    PythonServer server("recording_upstream.py", {});
    REQUIRE(server.started());
    TempDir spill;
    Driver d(settings_for(server.port()));
    {
      auto begun = d.begin();
      REQUIRE(begun.transaction);
      CHECK(d.mail(*begun.transaction, "<s@example.com>").code == 250);
      CHECK(d.rcpt(*begun.transaction, "<dropped@example.org>").code == 250);
    }
    REQUIRE(d.run_until([&] { return d.upstream().idle_connections() == 1; }));
    deliver_simple(d, "<kept@example.org>", spill);
    CHECK(envelope_of(server, 1)["rcpt_tos"] == nlohmann::json::array({"kept@example.org"}));
    CHECK(server.connections() == 1);
  }

  TEST_CASE("STARTTLS required with a certificate from the configured CA") {
    PythonServer server("recording_upstream.py", tls_server_args());
    REQUIRE(server.started());
    TempDir spill;
    for (const char* host : {"127.0.0.1", "localhost"}) {  // IP and DNS name checks
      CAPTURE(host);
      Driver d(tls_settings_for(server.port(), host));
      deliver_simple(d, "<tls@example.org>", spill);
    }
    for (int n : {1, 2}) CHECK(envelope_of(server, n)["tls"] == true);
  }

  TEST_CASE("a new upstream connection resumes the TLS session of the one before it") {
    PythonServer server("recording_upstream.py", tls_server_args());
    REQUIRE(server.started());
    TempDir spill;
    auto settings = tls_settings_for(server.port(), "localhost");
    settings.pool_size = 0;  // every message on a connection of its own
    Driver d(settings);
    for (int i = 0; i < 3; ++i) deliver_simple(d, "<tls@example.org>", spill);
    CHECK(server.connections() == 3);
    CHECK(envelope_of(server, 1)["tls_resumed"] == false);  // nothing to offer yet: a full handshake
    CHECK(envelope_of(server, 2)["tls_resumed"] == true);
    CHECK(envelope_of(server, 3)["tls_resumed"] == true);
    for (int n : {1, 2, 3}) CHECK(envelope_of(server, n)["tls"] == true);
  }

  TEST_CASE("STARTTLS verification failures refuse with 4.7.x") {
    const TestPki& pki = test_pki();
    struct Case {
      const char* name;
      std::filesystem::path cert, key;
      std::string expected;
    };
    for (const Case& c : {Case{"wrong hostname", pki.wrong_name_cert, pki.wrong_name_key, "4.7.5 "},
                          Case{"untrusted issuer", pki.self_signed_cert, pki.self_signed_key, "4.7.5 "}}) {
      CAPTURE(c.name);
      PythonServer server("recording_upstream.py", {"--cert", c.cert.string(), "--key", c.key.string()});
      REQUIRE(server.started());
      for (StartTlsPolicy policy : {StartTlsPolicy::Required, StartTlsPolicy::Opportunistic}) {
        auto settings = tls_settings_for(server.port(), "127.0.0.1");
        settings.starttls = policy;
        Driver d(settings);
        auto begun = d.begin();
        CHECK_FALSE(begun.transaction);
        CHECK(begun.reply.code == 451);
        CHECK(text_of(begun.reply).rfind(c.expected, 0) == 0);
        CHECK(text_of(begun.reply).find("certificate verification failed") != std::string::npos);
      }
      CHECK(server.connections() == 2);
      CHECK_FALSE(message_of(server, 1).has_value());
    }
  }

  TEST_CASE("STARTTLS required but not offered; opportunistic goes on in clear") {
    PythonServer server("recording_upstream.py", {});
    REQUIRE(server.started());
    TempDir spill;
    auto settings = settings_for(server.port());
    settings.starttls = StartTlsPolicy::Required;
    {
      Driver d(settings);
      auto begun = d.begin();
      CHECK_FALSE(begun.transaction);
      CHECK(begun.reply.code == 451);
      CHECK(text_of(begun.reply) == "4.7.0 upstream does not offer STARTTLS");
    }
    settings.starttls = StartTlsPolicy::Opportunistic;
    Driver d(settings);
    deliver_simple(d, "<clear@example.org>", spill);
    CHECK(envelope_of(server, 1)["tls"] == false);
  }

  TEST_CASE("AUTH PLAIN over STARTTLS") {
    PythonServer server("recording_upstream.py", tls_server_args({"--auth", "relay:s3cret pass"}));
    REQUIRE(server.started());
    TempDir spill;
    auto settings = tls_settings_for(server.port(), "127.0.0.1");
    settings.username = "relay";
    settings.password = "s3cret pass";
    {
      // Everything the client logs, at the most verbose level, must leave the password out.
      std::ostringstream log;
      auto previous = spdlog::default_logger();
      auto capture = std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log));
      capture->set_level(spdlog::level::trace);
      spdlog::set_default_logger(capture);
      {
        Driver d(settings);
        deliver_simple(d, "<authed@example.org>", spill);
      }
      spdlog::set_default_logger(previous);
      CHECK(log.str().find("> (credentials)") != std::string::npos);
      CHECK(log.str().find("MAIL FROM:<s@example.com>") != std::string::npos);
      CHECK(log.str().find("s3cret") == std::string::npos);
      CHECK(log.str().find("AHJlbGF5AHMzY3JldCBwYXNz") == std::string::npos);  // base64 "\0relay\0s3cret pass"
    }
    CHECK(envelope_of(server, 1)["authenticated"] == true);

    settings.password = "wrong";
    Driver d(settings);
    auto begun = d.begin();
    CHECK_FALSE(begun.transaction);
    CHECK(begun.reply.code == 451);  // a relay configuration problem stays transient for the client
    CHECK(text_of(begun.reply).rfind("4.7.0 upstream refused authentication: 535", 0) == 0);
  }

  TEST_CASE("credentials are not sent in clear unless STARTTLS is off explicitly") {
    PythonServer server("recording_upstream.py", {"--auth", "relay:pw", "--auth-clear"});
    REQUIRE(server.started());
    TempDir spill;
    auto settings = settings_for(server.port());
    settings.username = "relay";
    settings.password = "pw";
    {
      Driver d(settings);  // opportunistic, not offered
      auto begun = d.begin();
      CHECK_FALSE(begun.transaction);
      CHECK(text_of(begun.reply) == "4.7.0 refusing to send upstream credentials without TLS");
    }
    settings.starttls = StartTlsPolicy::None;
    Driver d(settings);
    deliver_simple(d, "<clear-auth@example.org>", spill);
    CHECK(envelope_of(server, 1)["authenticated"] == true);
  }

}  // TEST_SUITE
