#include <doctest/doctest.h>

#include "relay/network_range.hpp"

using namespace dkr::relay;
using boost::asio::ip::make_address;

TEST_CASE("CIDR parsing") {
  CHECK(parse_network_range("127.0.0.0/8").has_value());
  CHECK(parse_network_range("10.1.2.3")->prefix_len == 32);
  CHECK(parse_network_range("::1")->prefix_len == 128);
  CHECK(parse_network_range("2001:db8::/32")->to_string() == "2001:db8::/32");
  CHECK(parse_network_range("0.0.0.0/0")->to_string() == "0.0.0.0/0");
  CHECK_FALSE(parse_network_range("10.0.0.1/8"));  // host bits set
  CHECK_FALSE(parse_network_range("10.0.0.0/33"));
  CHECK_FALSE(parse_network_range("::/129"));
  CHECK_FALSE(parse_network_range("10.0.0.0/"));
  CHECK_FALSE(parse_network_range("10.0.0.0/8x"));
  CHECK_FALSE(parse_network_range("example.com/8"));
  CHECK_FALSE(parse_network_range(""));
}

TEST_CASE("CIDR matching, including IPv4-mapped addresses and odd prefixes") {
  auto loop = *parse_network_range("127.0.0.0/8");
  CHECK(loop.contains(make_address("127.0.0.1")));
  CHECK(loop.contains(make_address("127.255.255.255")));
  CHECK_FALSE(loop.contains(make_address("128.0.0.1")));
  CHECK(loop.contains(make_address("::ffff:127.0.0.2")));
  CHECK_FALSE(loop.contains(make_address("::1")));

  auto odd = *parse_network_range("192.168.4.0/22");
  CHECK(odd.contains(make_address("192.168.7.255")));
  CHECK_FALSE(odd.contains(make_address("192.168.8.0")));
  CHECK_FALSE(odd.contains(make_address("192.168.3.255")));

  auto host = *parse_network_range("127.0.0.1/32");
  CHECK(host.contains(make_address("127.0.0.1")));
  CHECK_FALSE(host.contains(make_address("127.0.0.2")));

  auto v6 = *parse_network_range("2001:db8:80::/41");
  CHECK(v6.contains(make_address("2001:db8:80::1")));
  CHECK(v6.contains(make_address("2001:db8:ff:ffff::1")));
  CHECK_FALSE(v6.contains(make_address("2001:db8:100::1")));
  CHECK_FALSE(v6.contains(make_address("10.0.0.1")));

  auto any = *parse_network_range("0.0.0.0/0");
  CHECK(any.contains(make_address("203.0.113.9")));
  CHECK_FALSE(any.contains(make_address("2001:db8::1")));
}
