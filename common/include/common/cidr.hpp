#pragma once
// An address range ("127.0.0.0/8", "::1/128"): the one parser behind relay.allowed_networks and
// [[relay.clients]] networks, used by config (reading them) and relay (matching clients).
#include <arpa/inet.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace dkr {

struct Cidr {
  std::array<std::uint8_t, 16> address{};  // IPv4 ranges keep their 4 bytes at the front
  bool is_v4 = true;
  unsigned prefix_len = 0;

  // `addr_bytes` holds 4 bytes when `addr_is_v4`, 16 otherwise. An IPv4-mapped IPv6 address
  // (::ffff:a.b.c.d, what a dual-stack socket reports) matches IPv4 ranges, so that allowing
  // 127.0.0.0/8 also works on a "[::]" listener.
  bool contains(std::span<const std::uint8_t> addr_bytes, bool addr_is_v4) const {
    if (addr_is_v4) return is_v4 && addr_bytes.size() == 4 && prefix_matches(addr_bytes.data());
    if (addr_bytes.size() != 16) return false;
    if (!is_v4) return prefix_matches(addr_bytes.data());
    static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    return std::memcmp(addr_bytes.data(), kMapped, sizeof kMapped) == 0 && prefix_matches(addr_bytes.data() + 12);
  }

  // Canonical "a.b.c.d/n" or "x::y/n".
  std::string to_string() const {
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(is_v4 ? AF_INET : AF_INET6, address.data(), text, sizeof text);
    return std::string(text) + "/" + std::to_string(prefix_len);
  }

  friend bool operator==(const Cidr&, const Cidr&) = default;

 private:
  // True when the first prefix_len bits of `bytes` and `address` agree.
  bool prefix_matches(const std::uint8_t* bytes) const {
    const unsigned full_bytes = prefix_len / 8;
    if (std::memcmp(address.data(), bytes, full_bytes) != 0) return false;
    const unsigned rest = prefix_len % 8;
    if (rest == 0) return true;
    const auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
    return (address[full_bytes] & mask) == (bytes[full_bytes] & mask);
  }
};

// "10.0.0.0/8", "::1/128"; a bare address means a single host. Host bits beyond the prefix are
// refused (a typo like 10.0.0.1/8 usually meant /32, not 16 million hosts).
inline std::optional<Cidr> parse_cidr(std::string_view text) {
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
    if (len_text.empty() || ec != std::errc{} || ptr != end || cidr.prefix_len > max_len) return std::nullopt;
  }
  for (unsigned bit = cidr.prefix_len; bit < max_len; ++bit) {
    if (cidr.address[bit / 8] & (0x80u >> (bit % 8))) return std::nullopt;
  }
  return cidr;
}

}  // namespace dkr
