#include <doctest/doctest.h>

#include "session_harness.hpp"

using namespace relay_test;

TEST_CASE("graceful shutdown: idle sessions get 421 at once, a transaction in progress may finish") {
  Relay relay;
  Client idle(relay.port);
  REQUIRE(idle.code() == 220);
  Client busy(relay.port);
  REQUIRE(busy.code() == 220);
  busy.send("EHLO client.test\r\nMAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.net>\r\n");
  CHECK(busy.code() == 250);
  CHECK(busy.code() == 250);
  CHECK(busy.code() == 250);
  CHECK(relay.server->running());

  std::thread stopper([&] { relay.server->stop(5s); });
  auto r = idle.read_reply();
  CHECK(r.code == 421);
  CHECK(r.lines.at(0).find("4.3.2") != std::string::npos);
  CHECK(idle.closed_by_server());

  busy.send("DATA\r\n");
  CHECK(busy.code() == 354);
  busy.send(kMessage + ".\r\n");
  CHECK(busy.code() == 250);
  CHECK(busy.code() == 421);
  CHECK(busy.closed_by_server());
  stopper.join();
  CHECK_FALSE(relay.server->running());
  CHECK(relay.upstream->message_count() == 1);

  Client late(relay.port);
  CHECK_FALSE(late.connected());
}

TEST_CASE("shutdown grace expiry closes a stalled transaction and aborts it upstream") {
  Relay relay;
  Client stalled(relay.port);
  REQUIRE(stalled.code() == 220);
  stalled.send("EHLO client.test\r\nMAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.net>\r\n");
  CHECK(stalled.code() == 250);
  CHECK(stalled.code() == 250);
  CHECK(stalled.code() == 250);
  auto started = std::chrono::steady_clock::now();
  relay.server->stop(200ms);
  auto took = std::chrono::steady_clock::now() - started;
  CHECK(took >= 200ms);
  CHECK(took < 3s);
  CHECK(stalled.closed_by_server());
  CHECK(relay.upstream->aborts == 1);
  CHECK(relay.metrics.transactions(relay::TransactionResult::Aborted) == 1);
  CHECK(relay.metrics.connections_current() == 0);
}
