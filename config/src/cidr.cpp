// Address ranges for relay.allowed_networks.
#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include "config/config.hpp"

namespace dkr::config {
namespace {

// True when the first `prefix_len` bits of both byte strings agree.
bool prefix_matches(const std::uint8_t* a, const std::uint8_t* b, unsigned prefix_len) {
  const unsigned full_bytes = prefix_len / 8;
  if (std::memcmp(a, b, full_bytes) != 0) return false;
  const unsigned rest = prefix_len % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
  return (a[full_bytes] & mask) == (b[full_bytes] & mask);
}

bool is_v4_mapped(std::span<const std::uint8_t> v6) {
  for (int i = 0; i < 10; ++i) {
    if (v6[i] != 0) return false;
  }
  return v6[10] == 0xFF && v6[11] == 0xFF;
}

}  // namespace

bool Cidr::contains(std::span<const std::uint8_t> addr_bytes, bool addr_is_v4) const {
  if (addr_is_v4) {
    return is_v4 && addr_bytes.size() == 4 && prefix_matches(address.data(), addr_bytes.data(), prefix_len);
  }
  if (addr_bytes.size() != 16) return false;
  if (is_v4) {
    return is_v4_mapped(addr_bytes) && prefix_matches(address.data(), addr_bytes.data() + 12, prefix_len);
  }
  return prefix_matches(address.data(), addr_bytes.data(), prefix_len);
}

std::string Cidr::to_string() const {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(is_v4 ? AF_INET : AF_INET6, address.data(), text, sizeof text);
  return std::string(text) + "/" + std::to_string(prefix_len);
}

std::optional<Cidr> parse_cidr(std::string_view text) {
  const auto slash = text.find('/');
  const std::string host(text.substr(0, slash));
  Cidr cidr;
  if (inet_pton(AF_INET, host.c_str(), cidr.address.data()) == 1) {
    cidr.is_v4 = true;
  } else if (inet_pton(AF_INET6, host.c_str(), cidr.address.data()) == 1) {
    cidr.is_v4 = false;
  } else {
    return std::nullopt;
  }
  const unsigned max_len = cidr.is_v4 ? 32 : 128;
  cidr.prefix_len = max_len;
  if (slash != std::string_view::npos) {
    const auto len_text = text.substr(slash + 1);
    const auto* end = len_text.data() + len_text.size();
    auto [ptr, ec] = std::from_chars(len_text.data(), end, cidr.prefix_len);
    if (len_text.empty() || ec != std::errc{} || ptr != end || cidr.prefix_len > max_len) {
      return std::nullopt;
    }
  }
  // Host bits set beyond the prefix: refuse rather than guess which part was meant.
  Cidr network = cidr;
  for (unsigned bit = cidr.prefix_len; bit < max_len; ++bit) {
    network.address[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  }
  if (network.address != cidr.address) return std::nullopt;
  return cidr;
}

}  // namespace dkr::config
