#include "relay/network_range.hpp"

#include <charconv>

namespace dkr::relay {

namespace {

bool prefix_matches(const std::uint8_t* a, const std::uint8_t* b, unsigned prefix_len) {
  unsigned full = prefix_len / 8;
  for (unsigned i = 0; i < full; ++i) {
    if (a[i] != b[i]) return false;
  }
  unsigned rest = prefix_len % 8;
  if (rest == 0) return true;
  auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
  return (a[full] & mask) == (b[full] & mask);
}

bool host_bits_zero(const std::uint8_t* a, unsigned total_bits, unsigned prefix_len) {
  for (unsigned bit = prefix_len; bit < total_bits; ++bit) {
    if (a[bit / 8] & (0x80 >> (bit % 8))) return false;
  }
  return true;
}

}  // namespace

bool NetworkRange::contains(const boost::asio::ip::address& addr) const {
  if (addr.is_v4()) {
    if (!is_v4) return false;
    auto bytes = addr.to_v4().to_bytes();
    return prefix_matches(bytes.data(), address.data(), prefix_len);
  }
  auto v6 = addr.to_v6();
  if (v6.is_v4_mapped()) {
    if (!is_v4) return false;
    auto bytes = v6.to_bytes();
    return prefix_matches(bytes.data() + 12, address.data(), prefix_len);
  }
  if (is_v4) return false;
  auto bytes = v6.to_bytes();
  return prefix_matches(bytes.data(), address.data(), prefix_len);
}

std::string NetworkRange::to_string() const {
  std::string text;
  if (is_v4) {
    boost::asio::ip::address_v4::bytes_type b{address[0], address[1], address[2], address[3]};
    text = boost::asio::ip::address_v4(b).to_string();
  } else {
    boost::asio::ip::address_v6::bytes_type b{};
    std::copy(address.begin(), address.end(), b.begin());
    text = boost::asio::ip::address_v6(b).to_string();
  }
  return text + "/" + std::to_string(prefix_len);
}

std::optional<NetworkRange> parse_network_range(std::string_view text) {
  std::string_view host = text;
  std::optional<unsigned> prefix;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    host = text.substr(0, slash);
    auto digits = text.substr(slash + 1);
    unsigned value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
    prefix = value;
  }
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(std::string(host), ec);
  if (ec) return std::nullopt;
  NetworkRange range;
  if (addr.is_v4()) {
    range.is_v4 = true;
    auto bytes = addr.to_v4().to_bytes();
    std::copy(bytes.begin(), bytes.end(), range.address.begin());
    range.prefix_len = prefix.value_or(32);
    if (range.prefix_len > 32 || !host_bits_zero(range.address.data(), 32, range.prefix_len)) return std::nullopt;
  } else {
    if (addr.to_v6().scope_id() != 0) return std::nullopt;
    range.is_v4 = false;
    auto bytes = addr.to_v6().to_bytes();
    std::copy(bytes.begin(), bytes.end(), range.address.begin());
    range.prefix_len = prefix.value_or(128);
    if (range.prefix_len > 128 || !host_bits_zero(range.address.data(), 128, range.prefix_len)) return std::nullopt;
  }
  return range;
}

}  // namespace dkr::relay
