#include <doctest/doctest.h>

#include "admin/bearer_auth.hpp"

using namespace dkr::admin;

TEST_CASE("token id is the first 8 hex chars of SHA-256(token)") {
  // sha256("secret") = 2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b (sha256sum)
  CHECK(token_id("secret") == "2bb80d53");
  CHECK(token_id("secret").find("secret") == std::string::npos);
}

TEST_CASE("tokens_equal compares content, whatever the lengths") {
  CHECK(tokens_equal("abc", "abc"));
  CHECK_FALSE(tokens_equal("abc", "abd"));
  CHECK_FALSE(tokens_equal("abc", "abcd"));
  CHECK_FALSE(tokens_equal("", "a"));
}

TEST_CASE("bearer credentials are parsed from the Authorization value") {
  CHECK(bearer_credentials("Bearer tok").value() == "tok");
  CHECK(bearer_credentials("bearer   tok  ").value() == "tok");
  CHECK(bearer_credentials("BEARER tok").value() == "tok");
  CHECK_FALSE(bearer_credentials("Basic dXNlcjpwYXNz").has_value());
  CHECK_FALSE(bearer_credentials("Bearer").has_value());
  CHECK_FALSE(bearer_credentials("Bearer ").has_value());
  CHECK_FALSE(bearer_credentials("Bearertok").has_value());
  CHECK_FALSE(bearer_credentials("").has_value());
}

TEST_CASE("BearerAuth accepts only the configured token") {
  const BearerAuth auth("s3cr3t-token");
  CHECK(auth.accepts("Bearer s3cr3t-token"));
  CHECK_FALSE(auth.accepts("Bearer s3cr3t-toke"));
  CHECK_FALSE(auth.accepts("Bearer s3cr3t-token2"));
  CHECK_FALSE(auth.accepts("s3cr3t-token"));
  CHECK_FALSE(auth.accepts(""));
  CHECK(auth.token_id() == token_id("s3cr3t-token"));

  const BearerAuth empty("");
  CHECK_FALSE(empty.accepts("Bearer "));
  CHECK_FALSE(empty.accepts(""));
}
