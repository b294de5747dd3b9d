#include <doctest/doctest.h>

#include "common/password_hash_format.hpp"

using namespace dkr;

// The test vector of tests/relay/password_hash_test.cpp (made with the OpenSSL 3 CLI): salt bytes
// 00112233445566778899aabbccddeeff, a 32-byte key.
constexpr std::string_view kHash =
    "$pbkdf2-sha256$1000$ABEiM0RVZneImaq7zN3u/w==$twhcFCobrxhm44Np0tymzQ2E+I0ynqDPXa2dqm6zsi8=";

TEST_CASE("a password hash parses into iterations, salt and key") {
  auto parsed = parse_password_hash(kHash);
  REQUIRE(parsed.ok());
  CHECK(parsed->iterations == 1000);
  CHECK(parsed->salt == std::string("\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff", 16));
  CHECK(parsed->hash.size() == 32);
  CHECK(parsed->hash.substr(0, 4) == "\xb7\x08\x5c\x14");
}

TEST_CASE("unpadded and passlib adapted base64 read as the same bytes") {
  auto standard = parse_password_hash(kHash);
  auto adapted =
      parse_password_hash("$pbkdf2-sha256$1000$ABEiM0RVZneImaq7zN3u/w$twhcFCobrxhm44Np0tymzQ2E.I0ynqDPXa2dqm6zsi8");
  REQUIRE(standard.ok());
  REQUIRE(adapted.ok());
  CHECK(adapted->salt == standard->salt);
  CHECK(adapted->hash == standard->hash);
}

TEST_CASE("malformed password hashes are refused") {
  for (std::string_view bad : {
           "********",
           "",
           "$pbkdf2-sha256$0$ABEi$twhcFCobrxhm44Np0tymzQ2E",
           "$pbkdf2-sha256$x$ABEi$twhcFCobrxhm44Np0tymzQ2E",
           "$pbkdf2-sha256$$ABEi$twhcFCobrxhm44Np0tymzQ2E",
           "$pbkdf2-sha256$01000$ABEi$twhcFCobrxhm44Np0tymzQ2E",
           "$pbkdf2-sha256$10000001$ABEi$twhcFCobrxhm44Np0tymzQ2E",
           "$pbkdf2-sha256$1000$AB!i$twhcFCobrxhm44Np0tymzQ2E",
           "$pbkdf2-sha256$1000$AB-_$twhcFCobrxhm44Np0tymzQ2E",  // URL-safe base64: not passlib's
           "$pbkdf2-sha256$1000$$twhcFCobrxhm44Np0tymzQ2E",
           "$pbkdf2-sha256$1000$ABEi$tw",  // too short a key
           "$pbkdf2-sha512$1000$ABEi$twhcFCobrxhm44Np0tymzQ2E",
           "$pbkdf2-sha256$1000$ABEi$twhcFCobrxhm44Np0tymzQ2E$extra",
       }) {
    CAPTURE(bad);
    auto parsed = parse_password_hash(bad);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().code == ErrorCode::invalid);
    CHECK(parsed.error().message.starts_with("expected \"$pbkdf2-sha256$<iterations>"));
  }
  CHECK(parse_password_hash("$pbkdf2-sha256$10000000$ABEi$twhcFCobrxhm44Np0tymzQ2E").ok());  // the bound itself
}

TEST_CASE("format_password_hash writes what parse_password_hash reads") {
  PasswordHash parts{4321, std::string("\x00\x01\xfe\xff\x10", 5), std::string(20, '\xfb')};
  const std::string text = format_password_hash(parts);
  CHECK(text.starts_with("$pbkdf2-sha256$4321$AAH+/xA$"));
  CHECK(text.find('=') == std::string::npos);  // unpadded, as passlib writes it
  auto back = parse_password_hash(text);
  REQUIRE(back.ok());
  CHECK(back->iterations == 4321);
  CHECK(back->salt == parts.salt);
  CHECK(back->hash == parts.hash);
}
