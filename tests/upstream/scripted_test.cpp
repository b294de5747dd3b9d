// Failure handling against scripted_upstream.py and a closed port: every failure is a 4xx with a
// 4.4.x (or 4.3.0) code, never a 2xx, and no half message is ever delivered.
#include <chrono>
#include <fstream>

#include <doctest/doctest.h>

#include "test_support.hpp"

using namespace dkr::upstream_test;
using dkr::upstream::OutboundMessage;
using dkr::upstream::SmtpReply;

namespace {

using Clock = std::chrono::steady_clock;

OutboundMessage small_message(const TempDir& spill) {
  return OutboundMessage{"Received: by relay\r\n", make_spool("Subject: t\r\n\r\nbody\r\n", spill.path())};
}

// Large enough that it cannot fit in loopback socket buffers while the server does not read.
OutboundMessage large_message(const TempDir& spill) {
  std::string content = "Subject: big\r\n\r\n";
  const std::string line = std::string(200, 'b') + "\r\n";
  while (content.size() < (48u << 20)) content += line;
  return OutboundMessage{"Received: by relay\r\n", make_spool(content, spill.path(), 1 << 16)};
}

SmtpReply begin_failure(Driver& d) {
  auto begun = d.begin();
  CHECK_FALSE(begun.transaction);
  return begun.reply;
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// Files in `dir` whose name starts with `prefix` (the scripted upstream's records).
int count_files(const std::filesystem::path& dir, const std::string& prefix) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) == 0 && name.find(".tmp") == std::string::npos) ++count;
  }
  return count;
}

// MAIL and the recipients accepted, then prepare_data(); returns once the server wrote `marker`.
std::unique_ptr<dkr::upstream::UpstreamTransaction> with_data_opened(Driver& d, const PythonServer& server,
                                                                     std::initializer_list<const char*> recipients,
                                                                     const char* marker) {
  auto begun = d.begin();
  REQUIRE(begun.transaction);
  CHECK(d.mail(*begun.transaction, "<s@example.com>").code == 250);
  for (const char* recipient : recipients) CHECK(d.rcpt(*begun.transaction, recipient).code == 250);
  begun.transaction->prepare_data();
  REQUIRE(d.run_until([&] { return std::filesystem::exists(server.dir() / marker); }));
  return std::move(begun.transaction);
}

}  // namespace

TEST_SUITE("scripted") {
  TEST_CASE("upstream down: connection refused is 451 4.4.1 and not reachable") {
    const std::uint16_t port = free_port();  // nothing listens there
    Driver d(settings_for(port));
    CHECK(d.upstream().reachable());  // nothing tried yet
    const SmtpReply reply = begin_failure(d);
    CHECK(reply.code == 451);
    CHECK(starts_with(text_of(reply), "4.4.1 cannot connect to upstream"));
    CHECK_FALSE(d.upstream().reachable());
  }

  TEST_CASE("an upstream without EHLO is spoken to with HELO") {
    PythonServer server("scripted_upstream.py", {"--no-ehlo"});
    REQUIRE(server.started());
    TempDir spill;
    Driver d(settings_for(server.port()));
    auto begun = d.begin();
    REQUIRE(begun.transaction);
    CHECK(d.mail(*begun.transaction, "<s@example.com>").code == 250);
    CHECK(d.rcpt(*begun.transaction, "<r@example.org>").code == 250);
    CHECK(d.data(*begun.transaction, small_message(spill)).code == 250);
    CHECK(server.connections() == 1);
    CHECK_FALSE(d.upstream().offers_smtputf8());
  }

  TEST_CASE("421 at the greeting is relayed") {
    PythonServer server("scripted_upstream.py", {"--mode", "greet421"});
    REQUIRE(server.started());
    Driver d(settings_for(server.port()));
    const SmtpReply reply = begin_failure(d);
    CHECK(reply.code == 421);
    CHECK(text_of(reply) == "4.3.2 scripted.test service shutting down");
  }

  TEST_CASE("an upstream that never answers times out with 4.4.2 within the command timeout") {
    PythonServer server("scripted_upstream.py", {"--mode", "stall"});
    REQUIRE(server.started());
    auto settings = settings_for(server.port());
    settings.command_timeout = 700ms;
    Driver d(settings);
    const auto start = Clock::now();
    const SmtpReply reply = begin_failure(d);
    const auto elapsed = Clock::now() - start;
    CHECK(reply.code == 451);
    CHECK(starts_with(text_of(reply), "4.4.2 upstream timed out"));
    CHECK(elapsed >= 650ms);
    CHECK(elapsed < 3s);
  }

  TEST_CASE("no final reply after the message: 4.4.2 timeout, not success") {
    PythonServer server("scripted_upstream.py", {"--mode", "stall-after-data"});
    REQUIRE(server.started());
    TempDir spill;
    auto settings = settings_for(server.port());
    settings.command_timeout = 700ms;
    Driver d(settings);
    auto begun = d.begin();
    REQUIRE(begun.transaction);
    CHECK(d.mail(*begun.transaction, "<s@example.com>").code == 250);
    CHECK(d.rcpt(*begun.transaction, "<r@example.org>").code == 250);
    const auto start = Clock::now();
    const SmtpReply reply = d.data(*begun.transaction, small_message(spill));
    CHECK(Clock::now() - start < 3s);
    CHECK(reply.code == 451);
    CHECK(starts_with(text_of(reply), "4.4.2 upstream timed out"));
    // The message may have been taken: it is never sent again on another connection.
    CHECK(server.connections() == 1);
    CHECK(count_files(server.dir(), "data-command-") == 1);
  }

  // Issue 24 item 10: an upstream that took the message (stored it) and dropped the connection
  // before its reply. The client cannot know whether the message is queued, so it answers 4xx and
  // never re-sends it on a new connection: that would be a duplicate delivery. Counted on a fresh
  // connection, on a pooled one (where a dropped connection is otherwise replaced) and after an
  // early DATA (whose envelope is otherwise replayed).
  TEST_CASE("an upstream that takes the message and drops the connection: 4xx, one DATA, one connection") {
    for (const char* shape : {"fresh", "pooled", "early"}) {
      CAPTURE(shape);
      const std::string how(shape);
      PythonServer server("scripted_upstream.py", {"--mode", "take-and-drop"});
      REQUIRE(server.started());
      TempDir spill;
      Driver d(settings_for(server.port()));
      std::unique_ptr<dkr::upstream::UpstreamTransaction> t;
      if (how == "early") {
        t = with_data_opened(d, server, {"<r@example.org>"}, "data-command-1");
      } else {
        if (how == "pooled") {
          // A transaction abandoned before DATA: RSET, and its connection goes back to the pool.
          auto warm = d.begin();
          REQUIRE(warm.transaction);
          CHECK(d.mail(*warm.transaction, "<s@example.com>").code == 250);
          warm.transaction.reset();
          REQUIRE(d.run_until([&] { return d.upstream().idle_connections() == 1; }));
        }
        auto begun = d.begin();
        REQUIRE(begun.transaction);
        CHECK(d.mail(*begun.transaction, "<s@example.com>").code == 250);
        CHECK(d.rcpt(*begun.transaction, "<r@example.org>").code == 250);
        t = std::move(begun.transaction);
      }
      const SmtpReply reply = d.data(*t, small_message(spill));
      // A re-send would have happened before this reply: the counts below are final.
      CHECK(reply.code / 100 == 4);
      CHECK(server.connections() == 1);
      CHECK(count_files(server.dir(), "data-command-") == 1);
      CHECK(count_files(server.dir(), "msg-") == 1);
    }
  }

  TEST_CASE("connection dropped during DATA is a 4xx") {
    PythonServer server("scripted_upstream.py", {"--mode", "drop-in-data"});
    REQUIRE(server.started());
    TempDir spill;
    for (bool large : {false, true}) {
      CAPTURE(large);
      Driver d(settings_for(server.port()));
      auto begun = d.begin();
      REQUIRE(begun.transaction);
      CHECK(d.mail(*begun.transaction, "<s@example.com>").code == 250);
      CHECK(d.rcpt(*begun.transaction, "<r@example.org>").code == 250);
      const SmtpReply reply = d.data(*begun.transaction, large ? large_message(spill) : small_message(spill));
      CHECK(reply.code == 451);
      CHECK(starts_with(text_of(reply), "4.4.2 "));
    }
    CHECK_FALSE(read_file(server.dir() / "msg-0001.eml").has_value());
  }

  TEST_CASE("abort during DATA closes the connection without the terminating dot") {
    PythonServer server("scripted_upstream.py", {"--mode", "pause-in-data"});
    REQUIRE(server.started());
    TempDir spill;
    Driver d(settings_for(server.port()));
    auto begun = d.begin();
    REQUIRE(begun.transaction);
    auto& t = *begun.transaction;
    CHECK(d.mail(t, "<s@example.com>").code == 250);
    CHECK(d.rcpt(t, "<r@example.org>").code == 250);
    auto pending = std::make_shared<Driver::Awaited>();
    t.data(large_message(spill), d.recorder(pending));
    REQUIRE(d.run_until([&] { return std::filesystem::exists(server.dir() / "data-started"); }));
    CHECK_FALSE(pending->reply.has_value());
    t.abort();
    const SmtpReply reply = d.wait(pending);
    CHECK(reply.code == 451);
    std::ofstream(server.dir() / "resume").close();
    // The server reads what was sent and sees the connection end before any terminator.
    CHECK(d.run_until([&] { return std::filesystem::exists(server.dir() / "aborted-1"); }, 20s));
    CHECK_FALSE(read_file(server.dir() / "msg-0001.eml").has_value());
    CHECK(d.upstream().idle_connections() == 0);
  }

  // The relay's sessions queue MAIL and the first RCPT together; to an upstream offering PIPELINING
  // they then go out in one write. Either way a pooled connection found dropped must be replaced.
  TEST_CASE("a pooled connection the upstream dropped is replaced without failing the transaction") {
    for (const bool together : {false, true}) {
      for (const char* how : {"close", "421"}) {
        CAPTURE(together);
        CAPTURE(how);
        PythonServer server("scripted_upstream.py", {"--after-message", how});
        REQUIRE(server.started());
        TempDir spill;
        Driver d(settings_for(server.port()));
        for (int n = 1; n <= 2; ++n) {
          auto begun = d.begin();
          REQUIRE(begun.transaction);
          if (together) {
            auto mail = std::make_shared<Driver::Awaited>();
            auto rcpt = std::make_shared<Driver::Awaited>();
            begun.transaction->mail_from("<s@example.com>", d.recorder(mail));
            begun.transaction->rcpt_to("<r@example.org>", d.recorder(rcpt));
            CHECK(d.wait(mail).code == 250);
            CHECK(d.wait(rcpt).code == 250);
            CHECK(mail->calls + rcpt->calls == 2);
          } else {
            CHECK(d.mail(*begun.transaction, "<s@example.com>").code == 250);
            CHECK(d.rcpt(*begun.transaction, "<r@example.org>").code == 250);
          }
          CHECK(d.data(*begun.transaction, small_message(spill)).code == 250);
          if (n == 1 && std::string(how) == "close") {
            // The 250 came before the close, so the connection went back to the pool.
            REQUIRE(d.run_until([&] { return d.upstream().idle_connections() == 1; }));
          }
        }
        CHECK(server.connections() == 2);
        CHECK(read_file(server.dir() / "msg-0002.eml") == "Received: by relay\r\nSubject: t\r\n\r\nbody\r\n");
      }
    }
  }

  TEST_CASE("an upstream answering DATA with 250 has not taken the message: 4.5.0, never a 2xx") {
    PythonServer server("scripted_upstream.py", {"--mode", "data250"});
    REQUIRE(server.started());
    TempDir spill;
    Driver d(settings_for(server.port()));
    for (const bool early : {false, true}) {
      CAPTURE(early);
      auto begun = d.begin();
      REQUIRE(begun.transaction);
      CHECK(d.mail(*begun.transaction, "<s@example.com>").code == 250);
      CHECK(d.rcpt(*begun.transaction, "<r@example.org>").code == 250);
      if (early) begun.transaction->prepare_data();
      const SmtpReply reply = d.data(*begun.transaction, small_message(spill));
      CHECK(reply.code == 451);
      CHECK(starts_with(text_of(reply), "4.5.0 upstream answered DATA with 250"));
    }
  }

  // The relay opens the upstream's DATA phase when its client's DATA is accepted (prepare_data),
  // so the message goes out the moment it is signed.
  TEST_CASE("DATA opened early: the message follows on the same connection") {
    PythonServer server("scripted_upstream.py", {});
    REQUIRE(server.started());
    TempDir spill;
    Driver d(settings_for(server.port()));
    auto t = with_data_opened(d, server, {"<r@example.org>"}, "data-command-1");
    CHECK(d.data(*t, small_message(spill)).code == 250);
    CHECK(server.connections() == 1);
    CHECK_FALSE(std::filesystem::exists(server.dir() / "data-command-2"));
    CHECK(read_file(server.dir() / "msg-0001.eml") == "Received: by relay\r\nSubject: t\r\n\r\nbody\r\n");
    CHECK(d.run_until([&] { return d.upstream().idle_connections() == 1; }));
  }

  TEST_CASE("DATA opened early and then aborted: the connection is closed before any message") {
    PythonServer server("scripted_upstream.py", {});
    REQUIRE(server.started());
    Driver d(settings_for(server.port()));
    auto t = with_data_opened(d, server, {"<r@example.org>"}, "data-command-1");
    t->abort();
    CHECK(d.run_until([&] { return std::filesystem::exists(server.dir() / "aborted-1"); }));
    CHECK_FALSE(read_file(server.dir() / "msg-0001.eml").has_value());
    CHECK(d.upstream().idle_connections() == 0);
  }

  // A slow client sending a large message can outlast the upstream's own timeout in DATA
  // (Postfix: smtpd_timeout, 10 s under stress). None of the message went out yet, so the
  // envelope is given again on a fresh connection.
  TEST_CASE("the upstream timed out in an early DATA: the envelope is replayed and the message delivered once") {
    PythonServer server("scripted_upstream.py", {"--data-timeout", "1.5"});
    REQUIRE(server.started());
    TempDir spill;
    Driver d(settings_for(server.port()));
    auto t = with_data_opened(d, server, {"<r@example.org>", "<r2@example.org>"}, "data-timeout-1");
    CHECK(d.data(*t, small_message(spill)).code == 250);
    CHECK(server.connections() == 2);
    CHECK(read_file(server.dir() / "msg-0001.eml") == "Received: by relay\r\nSubject: t\r\n\r\nbody\r\n");
    CHECK_FALSE(read_file(server.dir() / "msg-0002.eml").has_value());
  }

  TEST_CASE("a replayed envelope that the upstream now refuses: 4.4.2 and nothing delivered") {
    PythonServer server("scripted_upstream.py", {"--data-timeout", "1.5", "--refuse-rcpt-from", "2"});
    REQUIRE(server.started());
    TempDir spill;
    Driver d(settings_for(server.port()));
    auto t = with_data_opened(d, server, {"<r@example.org>"}, "data-timeout-1");
    const SmtpReply reply = d.data(*t, small_message(spill));
    CHECK(reply.code == 451);
    CHECK(starts_with(text_of(reply), "4.4.2 upstream connection lost during DATA"));
    CHECK(server.connections() == 2);
    CHECK_FALSE(read_file(server.dir() / "msg-0001.eml").has_value());
  }

}  // TEST_SUITE
