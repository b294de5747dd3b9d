#pragma once
// The BIND 9 server these tests run against: tests/system/bind_server.py starts it and runs the
// test binary with the server in the environment (see tests/dns/CMakeLists.txt). Without it the
// tests fail: they never pass on a machine where BIND did not start.
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>

#include "config/config.hpp"
#include "dns/rfc2136_publisher.hpp"
#include "dns/resolver.hpp"

namespace dkr::dns::test {

inline std::string env(const char* name) {
  const char* value = std::getenv(name);
  const std::string missing = "run under tests/system/bind_server.py: " + std::string(name) + " is not set";
  INFO(missing);
  REQUIRE(value != nullptr);
  return value;
}

// One request to the wrapper's control socket ("stop", "start", "records ZONE", "checkzone ZONE",
// "nsupdate ZONE\n..."): its answer text; fails the test when the wrapper answers "error".
inline std::string bind_control(const std::string& request) {
  const std::string path = env("DKR_TEST_BIND_CONTROL");
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  REQUIRE(path.size() < sizeof address.sun_path);
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  std::size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::write(fd, request.data() + sent, request.size() - sent);
    REQUIRE(n > 0);
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string answer;
  char buffer[4096];
  ssize_t n = 0;
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0) answer.append(buffer, static_cast<std::size_t>(n));
  ::close(fd);
  const auto newline = answer.find('\n');
  const std::string status = answer.substr(0, newline);
  const std::string text = newline == std::string::npos ? "" : answer.substr(newline + 1);
  const std::string context = "bind_server.py control: " + request + "\n" + text;
  INFO(context);
  REQUIRE(status == "ok");
  return text;
}

// The owner's (or an intruder's) change, as nsupdate makes it.
inline void nsupdate(const std::string& zone, const std::string& lines) {
  bind_control("nsupdate " + zone + "\n" + lines);
}

inline config::Endpoint server() {
  auto endpoint = config::parse_endpoint(env("DKR_TEST_DNS_SERVER"));
  REQUIRE(endpoint);
  return *endpoint;
}

inline Rfc2136Settings publisher_settings(const std::string& zone,
                                          const std::string& key_variable = "DKR_TEST_TSIG_KEY_FILE") {
  Rfc2136Settings settings;
  settings.server = server().host;
  settings.port = server().port;
  settings.zone = zone;
  auto key = read_tsig_key_file(env(key_variable.c_str()));
  REQUIRE_MESSAGE(key, key.error().message);
  settings.key = *key;
  settings.ttl = 60;
  settings.timeout = std::chrono::seconds(5);
  return settings;
}

// Runs the io_context until `result` is set by a callback.
template <class T>
T run_until(boost::asio::io_context& io, std::optional<T>& result) {
  io.restart();
  while (!result) {
    if (io.run_one() == 0) io.restart();
  }
  return *result;
}

}  // namespace dkr::dns::test
