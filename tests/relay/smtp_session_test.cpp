#include <doctest/doctest.h>

#include <poll.h>

#include "session_harness.hpp"
#include "signer/verifier.hpp"

using namespace relay_test;

namespace {

// Logs in with EHLO and checks the greeting; returns the EHLO reply.
Reply hello(Client& client) {
  REQUIRE(client.connected());
  auto greeting = client.read_reply();
  REQUIRE(greeting.code == 220);
  client.send("EHLO client.test\r\n");
  auto ehlo = client.read_reply();
  REQUIRE(ehlo.code == 250);
  return ehlo;
}

std::vector<signer::VerifyResult> verify(const std::string& message) {
  return signer::verify_message(message, [](std::string_view selector, std::string_view domain) -> Result<std::string> {
    if (domain != "example.com") return make_error("no such domain");
    if (selector == "sel1") return rsa_key()->dns_record();
    if (selector == "sel2") return ed25519_key()->dns_record();
    return make_error("no such selector");
  });
}

std::string send_message(Client& client, const std::string& message, const std::string& rcpt = "<bob@example.net>") {
  client.send("MAIL FROM:<alice@example.com>\r\n");
  REQUIRE(client.code() == 250);
  client.send("RCPT TO:" + rcpt + "\r\n");
  REQUIRE(client.code() == 250);
  client.send("DATA\r\n");
  REQUIRE(client.code() == 354);
  client.send(message + ".\r\n");
  auto r = client.read_reply();
  return std::to_string(r.code) + " " + (r.lines.empty() ? "" : r.lines.back());
}

}  // namespace

TEST_CASE("a message is signed with every active key and the client gets the upstream's reply") {
  Relay relay;
  Client client(relay.port);
  auto ehlo = hello(client);
  auto caps = ehlo.text();
  CHECK(caps.find("SIZE 26214400") != std::string::npos);
  CHECK(caps.find("PIPELINING") != std::string::npos);
  CHECK(caps.find("8BITMIME") != std::string::npos);
  CHECK(caps.find("ENHANCEDSTATUSCODES") != std::string::npos);
  CHECK(caps.find("STARTTLS") == std::string::npos);  // no certificate configured
  CHECK(caps.find("AUTH") == std::string::npos);      // no users
  CHECK(caps.find("SMTPUTF8") == std::string::npos);  // the upstream does not offer it

  CHECK(send_message(client, kMessage) == "250 2.0.0 Ok: queued as ABC123");
  client.send("QUIT\r\n");
  CHECK(client.code() == 221);
  CHECK(client.closed_by_server());

  auto messages = relay.upstream->messages();
  REQUIRE(messages.size() == 1);
  const auto& m = messages[0];
  CHECK(m.mail_from == "<alice@example.com>");
  REQUIRE(m.rcpt_to.size() == 1);
  CHECK(m.rcpt_to[0] == "<bob@example.net>");
  // The client's message unchanged (unstuffed), our fields on top: Received first.
  CHECK(m.content ==
        "From: Alice <alice@example.com>\r\nTo: bob@example.net\r\nSubject: test\r\n"
        "Message-ID: <1@example.com>\r\n\r\nHello Bob.\r\n.a line that starts with a dot\r\n");
  CHECK(
      m.prepend.starts_with("Received: from client.test ([127.0.0.1])\r\n\tby relay.test (dkim-relay) with ESMTP id "));
  auto first_dkim = m.prepend.find("DKIM-Signature:");
  REQUIRE(first_dkim != std::string::npos);
  CHECK(m.prepend.find("DKIM-Signature:", first_dkim + 1) != std::string::npos);

  auto results = verify(m.whole());
  REQUIRE(results.size() == 2);
  for (const auto& r : results) {
    CAPTURE(r.reason);
    CHECK(r.pass);
    CHECK(r.domain == "example.com");
  }
  CHECK(relay.metrics.transactions(relay::TransactionResult::Accepted) == 1);
  auto exposition = relay.metrics.render_prometheus();
  CAPTURE(exposition);
  CHECK(exposition.find("dkim_relay_messages_signed_total{algorithm=\"rsa-sha256\"} 1") != std::string::npos);
  CHECK(exposition.find("dkim_relay_messages_signed_total{algorithm=\"ed25519-sha256\"} 1") != std::string::npos);
}

TEST_CASE("PIPELINING: all commands in one write, replies in order") {
  Relay relay;
  Client client(relay.port);
  REQUIRE(client.code() == 220);
  client.send(
      "EHLO client.test\r\nMAIL FROM:<alice@example.com>\r\nRCPT TO:<a@example.net>\r\n"
      "RCPT TO:<b@example.net>\r\nDATA\r\n" +
      kMessage + ".\r\nNOOP\r\nQUIT\r\n");
  std::vector<int> codes;
  for (int i = 0; i < 8; ++i) codes.push_back(client.code());
  CHECK(codes == std::vector<int>{250, 250, 250, 250, 354, 250, 250, 221});
  auto messages = relay.upstream->messages();
  REQUIRE(messages.size() == 1);
  CHECK(messages[0].rcpt_to == std::vector<std::string>{"<a@example.net>", "<b@example.net>"});
}

TEST_CASE("per-recipient upstream replies reach the client unchanged") {
  Relay relay;
  relay.upstream->rcpt_reply = [](const std::string& args) {
    if (args.find("nobody") != std::string::npos) return relay::make_reply(550, "5.1.1", "upstream: no such user");
    return relay::make_reply(250, "2.1.5", "upstream ok");
  };
  Client client(relay.port);
  hello(client);
  client.send("MAIL FROM:<alice@example.com>\r\nRCPT TO:<nobody@example.net>\r\nRCPT TO:<bob@example.net>\r\n");
  CHECK(client.code() == 250);
  auto rejected = client.read_reply();
  CHECK(rejected.code == 550);
  CHECK(rejected.lines.at(0) == "5.1.1 upstream: no such user");
  CHECK(client.code() == 250);
  client.send("DATA\r\n");
  CHECK(client.code() == 354);
  client.send(kMessage + ".\r\n");
  CHECK(client.code() == 250);
  REQUIRE(relay.upstream->message_count() == 1);
  CHECK(relay.upstream->messages()[0].rcpt_to == std::vector<std::string>{"<bob@example.net>"});
}

TEST_CASE("DATA without an accepted recipient is 554; upstream DATA failures are relayed") {
  Relay relay;
  relay.upstream->rcpt_reply = [](const std::string&) { return relay::make_reply(450, "4.2.0", "greylisted"); };
  Client client(relay.port);
  hello(client);
  client.send("MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n");
  CHECK(client.code() == 250);
  CHECK(client.code() == 450);
  CHECK(client.code() == 554);
  client.send("RSET\r\n");
  CHECK(client.code() == 250);

  relay.upstream->rcpt_reply = [](const std::string&) { return relay::make_reply(250, "2.1.5", "ok"); };
  relay.upstream->data_reply = [] { return relay::make_reply(554, "5.7.0", "upstream says spam"); };
  auto answer = send_message(client, kMessage);
  CHECK(answer == "554 5.7.0 upstream says spam");
  relay.upstream->data_reply = [] { return relay::SmtpReply{}; };  // the upstream connection dropped
  answer = send_message(client, kMessage);
  CHECK(answer.starts_with("451 4.4.2"));
  CHECK(relay.metrics.transactions(relay::TransactionResult::Rejected) == 1);
  CHECK(relay.metrics.transactions(relay::TransactionResult::Tempfailed) == 1);
}

TEST_CASE("upstream unavailable: RCPT gets 4xx and the next RCPT retries") {
  Relay relay;
  relay.upstream->fail_begin = true;
  Client client(relay.port);
  hello(client);
  client.send("MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.net>\r\n");
  CHECK(client.code() == 250);
  auto r = client.read_reply();
  CHECK(r.code == 451);
  relay.upstream->fail_begin = false;
  client.send("RCPT TO:<bob@example.net>\r\n");
  CHECK(client.code() == 250);
  CHECK(relay.upstream->begins == 2);
}

TEST_CASE("SMTP smuggling: a bare-LF end marker never ends the message, nothing is delivered") {
  for (auto mode : {relay::BareLineEndings::Reject, relay::BareLineEndings::Normalize}) {
    for (std::string fake : {"\n.\n", "\n.\r\n", "\r\n.\n", "\r.\r\n"}) {
      CAPTURE(static_cast<int>(mode));
      CAPTURE(fake);
      auto settings = test_settings();
      settings.bare_line_endings = mode;
      Relay relay(settings);
      Client client(relay.port);
      hello(client);
      client.send("MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n");
      CHECK(client.code() == 250);
      CHECK(client.code() == 250);
      CHECK(client.code() == 354);
      client.send(kMessage + fake +
                  "MAIL FROM:<ceo@example.com>\r\nRCPT TO:<victim@example.net>\r\nDATA\r\n"
                  "From: ceo@example.com\r\n\r\nsmuggled\r\n.\r\nNOOP\r\n");
      auto r = client.read_reply();
      CHECK(r.code == 550);
      CHECK(r.lines.at(0).starts_with("5.6.0"));
      CHECK(client.code() == 250);  // NOOP: the session is in sync with the client
      CHECK(relay.upstream->message_count() == 0);
      // Still usable for a proper message afterwards.
      CHECK(send_message(client, kMessage).starts_with("250"));
      const auto delivered = relay.upstream->messages();
      REQUIRE(delivered.size() == 1);
      CHECK(delivered[0].content.find("smuggled") == std::string::npos);
    }
  }
}

TEST_CASE("bare LF in content: rejected by default, normalised when configured") {
  {
    Relay relay;
    Client client(relay.port);
    hello(client);
    auto answer = send_message(client, "From: alice@example.com\r\n\r\nline one\nline two\r\n");
    CHECK(answer.starts_with("550 5.6.0"));
    CHECK(relay.upstream->message_count() == 0);
  }
  {
    auto settings = test_settings();
    settings.bare_line_endings = relay::BareLineEndings::Normalize;
    Relay relay(settings);
    Client client(relay.port);
    hello(client);
    CHECK(send_message(client, "From: alice@example.com\r\n\r\nline one\nline two\r\n").starts_with("250"));
    REQUIRE(relay.upstream->message_count() == 1);
    auto m = relay.upstream->messages()[0];
    CHECK(m.content == "From: alice@example.com\r\n\r\nline one\r\nline two\r\n");
    for (const auto& r : verify(m.whole())) CHECK(r.pass);
  }
}

TEST_CASE("the upstream's DATA opens with the client's, until this session has a message refused here") {
  Relay relay;
  Client client(relay.port);
  hello(client);
  CHECK(send_message(client, "From: alice@example.com\r\n\r\none\r\n").starts_with("250"));
  CHECK(relay.upstream->data_prepared == 1);
  CHECK(send_message(client, "From: alice@example.com\r\n\r\nbare\nLF\r\n").starts_with("550 5.6.0"));
  CHECK(relay.upstream->data_prepared == 2);
  // Each further refusal would cost an upstream connection: the session stops opening early.
  CHECK(send_message(client, "From: alice@example.com\r\n\r\nthree\r\n").starts_with("250"));
  CHECK(relay.upstream->data_prepared == 2);
  CHECK(relay.upstream->message_count() == 2);
}

TEST_CASE("relay permission: a client outside allowed_networks gets 550 5.7.1 at RCPT") {
  auto settings = test_settings();
  settings.allowed_networks = {*dkr::parse_cidr("127.0.0.1/32")};
  Relay relay(settings);
  Client outsider(relay.port, "127.0.0.2");
  hello(outsider);
  outsider.send("MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.net>\r\n");
  CHECK(outsider.code() == 250);
  auto r = outsider.read_reply();
  CHECK(r.code == 550);
  CHECK(r.lines.at(0).starts_with("5.7.1"));
  CHECK(relay.upstream->begins == 0);

  Client insider(relay.port, "127.0.0.1");
  hello(insider);
  CHECK(send_message(insider, kMessage).starts_with("250"));
}

TEST_CASE("From: problems are refused with 550 5.7.1 and nothing is delivered") {
  Relay relay;
  Client client(relay.port);
  hello(client);
  CHECK(send_message(client, "To: bob@example.net\r\nSubject: no from\r\n\r\nbody\r\n").starts_with("550 5.7.1"));
  CHECK(send_message(client, "From: alice@example.com\r\nFrom: eve@evil.example\r\n\r\nbody\r\n")
            .starts_with("550 5.7.1"));
  CHECK(send_message(client, "From: alice@example.com, eve@evil.example\r\n\r\nbody\r\n").starts_with("550 5.7.1"));
  CHECK(relay.upstream->message_count() == 0);
  CHECK(relay.upstream->aborts >= 3);
  CHECK(relay.metrics.transactions(relay::TransactionResult::Rejected) == 3);
}

TEST_CASE("unsigned policy for a domain without a key") {
  const std::string message = "From: someone@nokey.example\r\n\r\nbody\r\n";
  for (auto policy : {relay::UnsignedPolicy::Tempfail, relay::UnsignedPolicy::Reject, relay::UnsignedPolicy::Pass}) {
    auto settings = test_settings();
    settings.unsigned_policy = policy;
    Relay relay(settings);
    Client client(relay.port);
    hello(client);
    auto answer = send_message(client, message);
    if (policy == relay::UnsignedPolicy::Tempfail) {
      CHECK(answer.starts_with("451 4.7.1"));
      CHECK(relay.upstream->message_count() == 0);
    } else if (policy == relay::UnsignedPolicy::Reject) {
      CHECK(answer.starts_with("550 5.7.1"));
      CHECK(relay.upstream->message_count() == 0);
    } else {
      CHECK(answer.starts_with("250"));
      REQUIRE(relay.upstream->message_count() == 1);
      auto m = relay.upstream->messages()[0];
      CHECK(m.prepend.find("DKIM-Signature") == std::string::npos);
      CHECK(m.prepend.starts_with("Received: "));
      CHECK(m.content == message);
    }
  }
}

TEST_CASE("a subdomain is signed with its parent's keys; only configured algorithms are used") {
  auto settings = test_settings();
  settings.signing.algorithms = {signer::Algorithm::Ed25519Sha256};
  Relay relay(settings);
  Client client(relay.port);
  hello(client);
  CHECK(send_message(client, "From: news@mail.example.com\r\n\r\nbody\r\n").starts_with("250"));
  REQUIRE(relay.upstream->message_count() == 1);
  auto m = relay.upstream->messages()[0];
  auto results = verify(m.whole());
  REQUIRE(results.size() == 1);
  CHECK(results[0].pass);
  CHECK(results[0].selector == "sel2");
  CHECK(results[0].algorithm == "ed25519-sha256");
}

TEST_CASE("limits") {
  auto settings = test_settings();
  settings.max_message_size = 2000;
  settings.max_recipients = 2;
  settings.max_command_line = 100;
  settings.max_text_line = 80;
  settings.max_messages_per_connection = 2;
  Relay relay(settings);
  Client client(relay.port);
  auto ehlo = hello(client);
  CHECK(ehlo.text().find("SIZE 2000") != std::string::npos);

  SUBCASE("command line too long: 500 5.5.2, the session continues") {
    client.send("NOOP " + std::string(200, 'x') + "\r\nNOOP\r\n");
    auto r = client.read_reply();
    CHECK(r.code == 500);
    CHECK(r.lines.at(0).starts_with("5.5.2"));
    CHECK(client.code() == 250);
    client.send("NOOP " + std::string(93, 'x') + "\r\n");  // exactly 100 bytes with CRLF
    CHECK(client.code() == 250);
  }
  SUBCASE("SIZE above the limit at MAIL: 552 5.3.4") {
    client.send("MAIL FROM:<alice@example.com> SIZE=2001\r\n");
    auto r = client.read_reply();
    CHECK(r.code == 552);
    CHECK(r.lines.at(0).starts_with("5.3.4"));
    client.send("MAIL FROM:<alice@example.com> SIZE=2000\r\n");
    CHECK(client.code() == 250);
  }
  SUBCASE("message over the size during DATA: 552 5.3.4 after the end marker") {
    std::string big = "From: alice@example.com\r\n\r\n";
    while (big.size() < 3000) big += std::string(60, 'b') + "\r\n";
    CHECK(send_message(client, big).starts_with("552 5.3.4"));
    CHECK(relay.upstream->message_count() == 0);
  }
  SUBCASE("text line too long: 500 5.5.2") {
    CHECK(send_message(client, "From: alice@example.com\r\n\r\n" + std::string(79, 'l') + "\r\n")
              .starts_with("500 5.5.2"));
    CHECK(relay.upstream->message_count() == 0);
    CHECK(send_message(client, "From: alice@example.com\r\n\r\n" + std::string(78, 'l') + "\r\n").starts_with("250"));
  }
  SUBCASE("too many recipients: 452 4.5.3") {
    client.send(
        "MAIL FROM:<alice@example.com>\r\nRCPT TO:<a@x.example>\r\nRCPT TO:<b@x.example>\r\nRCPT TO:<c@x.example>\r\n");
    CHECK(client.code() == 250);
    CHECK(client.code() == 250);
    CHECK(client.code() == 250);
    auto r = client.read_reply();
    CHECK(r.code == 452);
    CHECK(r.lines.at(0).starts_with("4.5.3"));
  }
  SUBCASE("messages per connection: 421 4.7.0 and close") {
    CHECK(send_message(client, kMessage).starts_with("250"));
    CHECK(send_message(client, kMessage).starts_with("250"));
    client.send("MAIL FROM:<alice@example.com>\r\n");
    auto r = client.read_reply();
    CHECK(r.code == 421);
    CHECK(r.lines.at(0).starts_with("4.7.0"));
    CHECK(client.closed_by_server());
  }
}

TEST_CASE("too many bad commands: 421 4.7.0 and close") {
  auto settings = test_settings();
  settings.max_bad_commands = 3;
  Relay relay(settings);
  Client client(relay.port);
  hello(client);
  client.send("FOO\r\nBAR\r\nBAZ\r\nQUX\r\nNOOP\r\n");
  for (int i = 0; i < 3; ++i) CHECK(client.code() == 500);
  CHECK(client.code() == 500);
  auto r = client.read_reply();
  CHECK(r.code == 421);
  CHECK(r.lines.at(0).starts_with("4.7.0"));
  CHECK(client.closed_by_server());
}

TEST_CASE("connection limits: 421 4.7.0 at the greeting") {
  auto settings = test_settings();
  settings.max_connections_per_ip = 2;
  settings.per_ip_limit_applies_to_loopback = true;  // the test's clients are on loopback
  Relay relay(settings);
  Client a(relay.port);
  Client b(relay.port);
  CHECK(a.code() == 220);
  CHECK(b.code() == 220);
  Client c(relay.port);
  auto r = c.read_reply();
  CHECK(r.code == 421);
  CHECK(r.lines.at(0).starts_with("4.7.0"));
  CHECK(c.closed_by_server());
  // A closed connection frees its slot.
  a.send("QUIT\r\n");
  CHECK(a.code() == 221);
  CHECK(a.closed_by_server());
  CHECK(Relay::eventually([&] { return relay.metrics.connections_current() == 1; }));
  Client d(relay.port);
  CHECK(d.code() == 220);
}

TEST_CASE("the per-IP cap does not apply to loopback by default (a sidecar's app is all loopback)") {
  auto settings = test_settings();
  settings.max_connections_per_ip = 2;
  Relay relay(settings);
  Client a(relay.port);
  Client b(relay.port);
  Client c(relay.port);
  CHECK(a.code() == 220);
  CHECK(b.code() == 220);
  CHECK(c.code() == 220);
}

TEST_CASE("total connection limit") {
  auto settings = test_settings();
  settings.max_connections = 1;
  Relay relay(settings);
  Client a(relay.port);
  CHECK(a.code() == 220);
  Client b(relay.port);
  CHECK(b.code() == 421);
}

TEST_CASE("timeouts: 421 4.4.2 and close") {
  auto settings = test_settings();
  settings.idle_timeout = 200ms;
  settings.command_timeout = 300ms;
  settings.data_timeout = 250ms;
  Relay relay(settings);
  SUBCASE("idle") {
    Client client(relay.port);
    hello(client);
    auto started = std::chrono::steady_clock::now();
    auto r = client.read_reply();
    CHECK(r.code == 421);
    CHECK(r.lines.at(0).find("4.4.2") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - started >= 150ms);
    CHECK(client.closed_by_server());
  }
  SUBCASE("inside DATA") {
    Client client(relay.port);
    hello(client);
    client.send("MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n");
    CHECK(client.code() == 250);
    CHECK(client.code() == 250);
    CHECK(client.code() == 354);
    client.send("From: alice@example.com\r\n\r\npartial");
    auto r = client.read_reply();
    CHECK(r.code == 421);
    CHECK(client.closed_by_server());
    CHECK(relay.upstream->message_count() == 0);
    CHECK(Relay::eventually([&] { return relay.metrics.transactions(relay::TransactionResult::Aborted) == 1; }));
    CHECK(relay.upstream->aborts == 1);
  }
}

// data_timeout alone is per read: a client sending a few bytes just inside it each time would hold
// its slot for ever. min_data_rate bounds DATA as a whole.
TEST_CASE("min_data_rate: a DATA dribble is cut off, a client at the rate is not") {
  auto settings = test_settings();
  settings.data_timeout = 400ms;
  settings.min_data_rate = 1000;  // bytes/s
  Relay relay(settings);
  auto open_data = [](Client& client) {
    hello(client);
    client.send("MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n");
    REQUIRE(client.code() == 250);
    REQUIRE(client.code() == 250);
    REQUIRE(client.code() == 354);
  };
  // Sends `bytes` every 100 ms until `total` bytes or until the relay answers; returns its reply.
  auto dribble = [](Client& client, std::size_t bytes, std::size_t total, std::string_view end) {
    std::size_t sent = 0;
    const auto started = std::chrono::steady_clock::now();
    while (sent < total && std::chrono::steady_clock::now() - started < 5s) {
      client.send(std::string(bytes - 2, 'x') + "\r\n");
      sent += bytes;
      pollfd p{client.fd(), POLLIN, 0};
      if (::poll(&p, 1, 100) > 0) return client.read_reply();  // the relay spoke (or closed)
    }
    client.send(end);
    return client.read_reply();
  };
  SUBCASE("20 bytes/s: 421 4.4.2 although no single read waits data_timeout") {
    Client client(relay.port);
    open_data(client);
    client.send("From: alice@example.com\r\n\r\n");
    const auto started = std::chrono::steady_clock::now();
    auto r = dribble(client, 2, 100, "\r\n.\r\n");  // 2 bytes / 100 ms: would take 5 s
    const auto elapsed = std::chrono::steady_clock::now() - started;
    CHECK(r.code == 421);
    REQUIRE(!r.lines.empty());
    CHECK(r.lines[0].find("4.4.2") != std::string::npos);
    CHECK(elapsed >= 300ms);  // data_timeout plus what the few bytes earned, not at once
    CHECK(elapsed < 2s);
    CHECK(client.closed_by_server());
    CHECK(relay.upstream->message_count() == 0);
  }
  SUBCASE("2,000 bytes/s for over data_timeout: delivered") {
    Client client(relay.port);
    open_data(client);
    client.send("From: alice@example.com\r\n\r\n");
    auto r = dribble(client, 200, 1600, "\r\n.\r\n");  // 200 bytes / 100 ms for ~0.8 s
    CHECK(r.code == 250);
    CHECK(relay.upstream->message_count() == 1);
  }
}

// MAIL and the first RCPT go upstream together; the upstream's refusal of MAIL must still be what
// the client hears, not the (moot) RCPT reply.
TEST_CASE("an upstream refusal of MAIL answers the first RCPT; the next RCPT starts afresh") {
  Relay relay;
  std::atomic<int> mails{0};
  relay.upstream->mail_reply = [&](const std::string&) {
    return ++mails == 1 ? relay::make_reply(550, "5.7.1", "sender blocked upstream")
                        : relay::make_reply(250, "2.1.0", "upstream sender ok");
  };
  Client client(relay.port);
  hello(client);
  client.send("MAIL FROM:<alice@example.com>\r\n");
  CHECK(client.code() == 250);
  client.send("RCPT TO:<bob@example.net>\r\n");
  auto refused = client.read_reply();
  CHECK(refused.code == 550);
  REQUIRE(!refused.lines.empty());
  CHECK(refused.lines[0] == "5.7.1 sender blocked upstream");
  client.send("RCPT TO:<bob@example.net>\r\n");
  CHECK(client.code() == 250);
  client.send("DATA\r\n");
  CHECK(client.code() == 354);
  client.send(kMessage + ".\r\n");
  CHECK(client.code() == 250);
  CHECK(relay.upstream->begins == 2);
  CHECK(relay.upstream->message_count() == 1);
}

// A 421 from the upstream means its channel is closing; passed on, it would tell the client that
// the relay is closing this session (RFC 5321 §3.8).
TEST_CASE("an upstream 421 reaches the client as 451 4.4.1 and the session goes on") {
  Relay relay;
  relay.upstream->data_reply = [] { return relay::make_reply(421, "4.3.2", "upstream shutting down"); };
  Client client(relay.port);
  hello(client);
  CHECK(send_message(client, kMessage).starts_with("451 4.4.1 "));
  client.send("NOOP\r\n");
  CHECK(client.code() == 250);
  CHECK(relay.upstream->message_count() == 0);
}

TEST_CASE("command sequencing and simple commands") {
  Relay relay;
  Client client(relay.port);
  REQUIRE(client.code() == 220);
  client.send("MAIL FROM:<alice@example.com>\r\n");
  CHECK(client.code() == 503);  // no EHLO yet
  client.send("HELO client.test\r\n");
  CHECK(client.code() == 250);
  client.send("RCPT TO:<bob@example.net>\r\n");
  CHECK(client.code() == 503);
  client.send("DATA\r\n");
  CHECK(client.code() == 503);
  client.send("VRFY bob\r\nEXPN list\r\nHELP\r\nNOOP\r\nRSET\r\n");
  CHECK(client.code() == 252);
  CHECK(client.code() == 502);
  CHECK(client.code() == 214);
  CHECK(client.code() == 250);
  CHECK(client.code() == 250);
  client.send("MAIL FROM:<alice@example.com>\r\nMAIL FROM:<alice@example.com>\r\n");
  CHECK(client.code() == 250);
  CHECK(client.code() == 503);  // nested MAIL
  client.send("STARTTLS\r\nAUTH PLAIN\r\nMAIL FROM:<j\xc3\xb6rg@example.com>\r\n");
  CHECK(client.code() == 502);
  CHECK(client.code() == 502);
  CHECK(client.code() == 503);
  client.send("RSET\r\nMAIL FROM:<j\xc3\xb6rg@example.com>\r\nMAIL FROM:<a@example.com> SMTPUTF8\r\n");
  CHECK(client.code() == 250);
  CHECK(client.code() == 553);  // non-ASCII needs SMTPUTF8
  CHECK(client.code() == 555);  // and the upstream does not offer it
}
