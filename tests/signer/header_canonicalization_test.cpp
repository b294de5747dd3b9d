#include <doctest/doctest.h>

#include "signer/canonicalization.hpp"
#include "signer/message.hpp"

using dkr::signer::Canon;
using dkr::signer::canonicalize_header;

TEST_CASE("relaxed header canonicalization") {
  CHECK(canonicalize_header(Canon::Relaxed, "SUBJect:  AbC  ") == "subject:AbC\r\n");
  CHECK(canonicalize_header(Canon::Relaxed, "Subject : a\r\n\t b \t c") == "subject:a b c\r\n");
  CHECK(canonicalize_header(Canon::Relaxed, "To:") == "to:\r\n");
  CHECK(canonicalize_header(Canon::Relaxed, "X-Empty:   \r\n  ") == "x-empty:\r\n");
}

TEST_CASE("simple header canonicalization keeps the field as it is") {
  CHECK(canonicalize_header(Canon::Simple, "SUBJect:  AbC \r\n\tx") == "SUBJect:  AbC \r\n\tx\r\n");
}

TEST_CASE("split_message finds fields, continuations and the body") {
  const auto m = dkr::signer::split_message("From: a@b\r\nSubject: x\r\n y\r\nTo : c\r\n\r\nbody\r\n");
  REQUIRE(m.headers.size() == 3);
  CHECK(m.headers[1].raw == "Subject: x\r\n y");
  CHECK(m.headers[2].name == "To");
  CHECK(m.body == "body\r\n");
  CHECK(m.has_separator);
  const auto headers_only = dkr::signer::split_message("From: a@b\r\nTo: c");
  CHECK(headers_only.headers.size() == 2);
  CHECK(!headers_only.has_separator);
  CHECK(dkr::signer::lf_to_crlf("a\nb\r\nc\n") == "a\r\nb\r\nc\r\n");
}
