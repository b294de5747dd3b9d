// Accepted connections are dealt round robin to the I/O threads (so an application's few pooled
// connections never share one thread while another idles), the limits count the connections of
// all threads together, and a second relay cannot take the port of a running one.
#include <fstream>
#include <sstream>

#include <doctest/doctest.h>

#include "session_harness.hpp"

using namespace relay_test;

namespace {

// Sockets listening on 127.0.0.1:`port` (/proc/net/tcp: local address 0100007F:PORT, state 0A).
int listening_sockets(std::uint16_t port) {
  std::ifstream table("/proc/net/tcp");
  char local[32];
  std::snprintf(local, sizeof local, "0100007F:%04X", port);
  std::string line;
  int count = 0;
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string slot, address, remote, state;
    fields >> slot >> address >> remote >> state;
    if (address == local && state == "0A") ++count;
  }
  return count;
}

// Opens `count` connections at once (all kept open) and counts the greetings by reply code.
std::map<int, int> greetings(std::uint16_t port, int count) {
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < count; ++i) clients.push_back(std::make_unique<Client>(port));
  std::map<int, int> codes;
  for (auto& client : clients) ++codes[client->code()];
  return codes;
}

}  // namespace

TEST_CASE("connections are dealt to every I/O thread in turn") {
  auto settings = test_settings();
  settings.threads = 4;
  Relay relay(settings);
  CHECK(listening_sockets(relay.port) == 1);
  // Four connections open at once: one session on each thread.
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(std::make_unique<Client>(relay.port));
    REQUIRE(clients.back()->code() == 220);
  }
  for (auto& client : clients) {
    client->send("EHLO client.test\r\nMAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.net>\r\nQUIT\r\n");
    CHECK(client->code() == 250);
    CHECK(client->code() == 250);
    CHECK(client->code() == 250);
    CHECK(client->code() == 221);
  }
  CHECK(relay.upstream->begins == 4);
  std::lock_guard lock(relay.upstream->mutex);
  CHECK(relay.upstream->begin_threads.size() == 4);
}

TEST_CASE("connection limits count the connections of every thread together") {
  SUBCASE("max_connections") {
    auto settings = test_settings();
    settings.threads = 4;
    settings.max_connections = 5;
    Relay relay(settings);
    auto codes = greetings(relay.port, 16);
    CHECK(codes[220] == 5);
    CHECK(codes[421] == 11);
  }
  SUBCASE("max_connections_per_ip") {
    auto settings = test_settings();
    settings.threads = 4;
    settings.max_connections_per_ip = 3;
    settings.per_ip_limit_applies_to_loopback = true;
    Relay relay(settings);
    auto codes = greetings(relay.port, 12);
    CHECK(codes[220] == 3);
    CHECK(codes[421] == 9);
  }
}

TEST_CASE("a second relay cannot start on a port the first one listens on") {
  auto settings = test_settings();
  settings.threads = 2;
  Relay first(settings);
  settings.listen = {{"127.0.0.1", first.port}};
  relay::RelayMetrics metrics;
  relay::RelayServer second(settings, std::make_shared<FakeKeyStore>(), std::make_shared<RecordingUpstream>(), metrics);
  auto started = second.start();
  REQUIRE_FALSE(started);
  CHECK(started.error().message.find("cannot listen on 127.0.0.1:" + std::to_string(first.port)) != std::string::npos);
  CHECK(listening_sockets(first.port) == 1);
}
