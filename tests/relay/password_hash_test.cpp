#include <doctest/doctest.h>

#include "relay/password_hash.hpp"

using namespace dkr::relay;

// Produced independently with the OpenSSL 3 CLI:
//   openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt pass:s3cret-Passw0rd
//     -kdfopt hexsalt:00112233445566778899aabbccddeeff -kdfopt iter:1000 PBKDF2
// = B7:08:5C:14:...:B2:2F, base64 below; salt bytes base64 = ABEiM0RVZneImaq7zN3u/w==
// The format itself is tested with common/ (tests/common/password_hash_format_test.cpp).
constexpr std::string_view kHash =
    "$pbkdf2-sha256$1000$ABEiM0RVZneImaq7zN3u/w==$twhcFCobrxhm44Np0tymzQ2E+I0ynqDPXa2dqm6zsi8=";

TEST_CASE("PBKDF2 hashes made by openssl verify") {
  CHECK(verify_password("s3cret-Passw0rd", kHash));
  CHECK_FALSE(verify_password("s3cret-Passw0rD", kHash));
  CHECK_FALSE(verify_password("", kHash));
  CHECK_FALSE(verify_password("s3cret-Passw0rd ", kHash));
}

TEST_CASE("unpadded and passlib adapted base64 are accepted") {
  CHECK(verify_password("s3cret-Passw0rd",
                        "$pbkdf2-sha256$1000$ABEiM0RVZneImaq7zN3u/w$twhcFCobrxhm44Np0tymzQ2E.I0ynqDPXa2dqm6zsi8"));
}

TEST_CASE("malformed hashes never verify") {
  CHECK_FALSE(verify_password("anything", "********"));
  CHECK_FALSE(
      verify_password("s3cret-Passw0rd", "$pbkdf2-sha512$1000$ABEiM0RVZneImaq7zN3u/w$twhcFCobrxhm44Np0tymzQ2E"));
}

TEST_CASE("make_password_hash round-trips with fresh salts") {
  auto a = make_password_hash("pw", 1000);
  auto b = make_password_hash("pw", 1000);
  CHECK(a != b);
  CHECK(a.starts_with("$pbkdf2-sha256$1000$"));
  CHECK(verify_password("pw", a));
  CHECK_FALSE(verify_password("pW", a));
}
