#include <doctest/doctest.h>

#include <array>

#include "config/config.hpp"

using dkr::config::Endpoint;
using dkr::config::parse_cidr;
using dkr::config::parse_endpoint;

TEST_CASE("parse_endpoint") {
  CHECK(parse_endpoint("127.0.0.1:2525") == Endpoint{"127.0.0.1", 2525});
  CHECK(parse_endpoint("0.0.0.0:0") == Endpoint{"0.0.0.0", 0});
  CHECK(parse_endpoint("[::1]:2525") == Endpoint{"::1", 2525});
  CHECK(parse_endpoint("[::]:25") == Endpoint{"::", 25});
  CHECK(parse_endpoint("localhost:65535") == Endpoint{"localhost", 65535});
  for (const char* bad : {"", "127.0.0.1", "127.0.0.1:", ":25", "127.0.0.1:65536", "127.0.0.1:-1", "::1:2525", "[::1]",
                          "[::1]2525", "[nothost]:25", "host name:25", "1.2.3.4:25x", "[::1:25"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_endpoint(bad).has_value());
  }
  // With a default port (resolver addresses) the port may be left out.
  CHECK(parse_endpoint("9.9.9.9", 53) == Endpoint{"9.9.9.9", 53});
  CHECK(parse_endpoint("::1", 53) == Endpoint{"::1", 53});
  CHECK(parse_endpoint("[::1]:5353", 53) == Endpoint{"::1", 5353});
  CHECK(Endpoint{"::1", 2525}.to_string() == "[::1]:2525");
  CHECK(Endpoint{"10.1.2.3", 25}.to_string() == "10.1.2.3:25");
}

TEST_CASE("parse_cidr and Cidr::contains") {
  const std::array<std::uint8_t, 4> v4_in{10, 200, 3, 4};
  const std::array<std::uint8_t, 4> v4_out{11, 0, 0, 1};
  const std::array<std::uint8_t, 16> v4_mapped_in{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 10, 1, 1, 1};
  const std::array<std::uint8_t, 16> v6_loopback{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  const std::array<std::uint8_t, 16> v6_ula{0xFD, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};

  auto ten = parse_cidr("10.0.0.0/8");
  REQUIRE(ten);
  CHECK(ten->is_v4);
  CHECK(ten->prefix_len == 8);
  CHECK(ten->contains(v4_in, true));
  CHECK_FALSE(ten->contains(v4_out, true));
  CHECK(ten->contains(v4_mapped_in, false));
  CHECK_FALSE(ten->contains(v6_loopback, false));
  CHECK(ten->to_string() == "10.0.0.0/8");

  auto ula = parse_cidr("fd00::/8");
  REQUIRE(ula);
  CHECK_FALSE(ula->is_v4);
  CHECK(ula->contains(v6_ula, false));
  CHECK_FALSE(ula->contains(v6_loopback, false));
  CHECK_FALSE(ula->contains(v4_in, true));

  auto loopback = parse_cidr("::1/128");
  REQUIRE(loopback);
  CHECK(loopback->contains(v6_loopback, false));
  CHECK(loopback->to_string() == "::1/128");

  auto odd_prefix = parse_cidr("10.192.0.0/10");  // prefix not on a byte boundary
  REQUIRE(odd_prefix);
  const std::array<std::uint8_t, 4> in10{10, 255, 0, 1};
  const std::array<std::uint8_t, 4> out10{10, 128, 0, 1};
  CHECK(odd_prefix->contains(in10, true));
  CHECK_FALSE(odd_prefix->contains(out10, true));

  auto all = parse_cidr("0.0.0.0/0");
  REQUIRE(all);
  CHECK(all->contains(v4_out, true));

  auto host = parse_cidr("192.0.2.7");  // a bare address is one host
  REQUIRE(host);
  CHECK(host->prefix_len == 32);

  for (const char* bad : {"", "10.0.0.0/33", "::/129", "10.0.0.1/8", "10.0.0.0/", "10.0.0.0/8x", "300.0.0.0/8",
                          "example.com/8", "10.0.0.0/-1", "fd00::1/8"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_cidr(bad).has_value());
  }
}
