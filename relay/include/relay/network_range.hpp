#pragma once
// An address range for relay permission ("127.0.0.0/8", "::1/128").
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/ip/address.hpp>

namespace dkr::relay {

struct NetworkRange {
  std::array<std::uint8_t, 16> address{};  // IPv4 ranges keep their 4 bytes at the front
  bool is_v4 = true;
  unsigned prefix_len = 0;

  // An IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a dual-stack socket reports) matches IPv4
  // ranges, so that allowing 127.0.0.0/8 also works on a "[::]" listener.
  bool contains(const boost::asio::ip::address& address) const;
  std::string to_string() const;
  friend bool operator==(const NetworkRange&, const NetworkRange&) = default;
};

// "10.0.0.0/8", "::1/128"; a bare address is a single host. Host bits beyond the prefix are refused
// (10.0.0.1/8 is more likely a typo for /32 than a wish to allow 16 million hosts).
std::optional<NetworkRange> parse_network_range(std::string_view text);

}  // namespace dkr::relay
