#include <doctest/doctest.h>

#include <string>

#include "common/base64.hpp"

using dkr::base64_encode;

// The test vectors of RFC 4648 §10, written out from the RFC, not taken from the encoder.
TEST_CASE("base64_encode gives the RFC 4648 test vectors, padding included") {
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foo") == "Zm9v");
  CHECK(base64_encode("foob") == "Zm9vYg==");
  CHECK(base64_encode("fooba") == "Zm9vYmE=");
  CHECK(base64_encode("foobar") == "Zm9vYmFy");
}

TEST_CASE("base64_encode takes every byte value, the high ones as unsigned") {
  // 0x00 0xFF 0xFE -> 000000 001111 111111 111110; 0xFB 0xEF -> 111110 111110 111100 (=).
  CHECK(base64_encode(std::string("\x00\xff\xfe", 3)) == "AP/+");
  CHECK(base64_encode(std::string("\xfb\xef", 2)) == "++8=");
  // AUTH PLAIN's token (RFC 4616 §4's example): "\0tim\0tanstaaftanstaaf".
  CHECK(base64_encode(std::string("\0tim\0tanstaaftanstaaf", 21)) == "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
}
