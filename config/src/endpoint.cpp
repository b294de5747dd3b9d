// "host:port" as written in listen and resolver settings.
#include <arpa/inet.h>

#include <charconv>

#include "config/config.hpp"

namespace dkr::config {
namespace {

bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

bool is_ipv6(std::string_view text) {
  const std::string copy(text);
  unsigned char buf[16];
  return inet_pton(AF_INET6, copy.c_str(), buf) == 1;
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
  unsigned value = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

}  // namespace

std::string Endpoint::to_string() const {
  const bool bracket = host.find(':') != std::string::npos;
  return (bracket ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::optional<Endpoint> parse_endpoint(std::string_view text, std::optional<std::uint16_t> default_port) {
  Endpoint endpoint;
  std::string_view rest;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    endpoint.host = std::string(text.substr(1, close - 1));
    if (!is_ipv6(endpoint.host)) return std::nullopt;
    rest = text.substr(close + 1);
  } else if (default_port && is_ipv6(text)) {
    // A resolver is often written as a bare IPv6 address; with a default port that is unambiguous.
    endpoint.host = std::string(text);
    endpoint.port = *default_port;
    return endpoint;
  } else {
    const auto colon = text.find(':');
    endpoint.host = std::string(text.substr(0, colon));
    if (endpoint.host.empty()) return std::nullopt;
    for (char c : endpoint.host) {
      if (!is_host_char(c)) return std::nullopt;
    }
    rest = colon == std::string_view::npos ? std::string_view{} : text.substr(colon);
  }
  if (rest.empty()) {
    if (!default_port) return std::nullopt;
    endpoint.port = *default_port;
    return endpoint;
  }
  if (rest.front() != ':') return std::nullopt;
  auto port = parse_port(rest.substr(1));
  if (!port) return std::nullopt;
  endpoint.port = *port;
  return endpoint;
}

}  // namespace dkr::config
