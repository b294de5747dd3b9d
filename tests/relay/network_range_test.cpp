#include <doctest/doctest.h>

#include "relay/network_range.hpp"

using boost::asio::ip::make_address;
using dkr::parse_cidr;
using dkr::relay::in_range;

TEST_CASE("CIDR parsing") {
  CHECK(parse_cidr("127.0.0.0/8").has_value());
  CHECK(parse_cidr("10.1.2.3")->prefix_len == 32);
  CHECK(parse_cidr("::1")->prefix_len == 128);
  CHECK(parse_cidr("2001:db8::/32")->to_string() == "2001:db8::/32");
  CHECK(parse_cidr("0.0.0.0/0")->to_string() == "0.0.0.0/0");
  CHECK_FALSE(parse_cidr("10.0.0.1/8"));  // host bits set
  CHECK_FALSE(parse_cidr("10.0.0.0/33"));
  CHECK_FALSE(parse_cidr("::/129"));
  CHECK_FALSE(parse_cidr("10.0.0.0/"));
  CHECK_FALSE(parse_cidr("10.0.0.0/8x"));
  CHECK_FALSE(parse_cidr("example.com/8"));
  CHECK_FALSE(parse_cidr(""));
}

TEST_CASE("CIDR matching, including IPv4-mapped addresses and odd prefixes") {
  auto loop = *parse_cidr("127.0.0.0/8");
  CHECK(in_range(loop, make_address("127.0.0.1")));
  CHECK(in_range(loop, make_address("127.255.255.255")));
  CHECK_FALSE(in_range(loop, make_address("128.0.0.1")));
  CHECK(in_range(loop, make_address("::ffff:127.0.0.2")));
  CHECK_FALSE(in_range(loop, make_address("::1")));

  auto odd = *parse_cidr("192.168.4.0/22");
  CHECK(in_range(odd, make_address("192.168.7.255")));
  CHECK_FALSE(in_range(odd, make_address("192.168.8.0")));
  CHECK_FALSE(in_range(odd, make_address("192.168.3.255")));

  auto host = *parse_cidr("127.0.0.1/32");
  CHECK(in_range(host, make_address("127.0.0.1")));
  CHECK_FALSE(in_range(host, make_address("127.0.0.2")));

  auto v6 = *parse_cidr("2001:db8:80::/41");
  CHECK(in_range(v6, make_address("2001:db8:80::1")));
  CHECK(in_range(v6, make_address("2001:db8:ff:ffff::1")));
  CHECK_FALSE(in_range(v6, make_address("2001:db8:100::1")));
  CHECK_FALSE(in_range(v6, make_address("10.0.0.1")));

  auto any = *parse_cidr("0.0.0.0/0");
  CHECK(in_range(any, make_address("203.0.113.9")));
  CHECK_FALSE(in_range(any, make_address("2001:db8::1")));
}
