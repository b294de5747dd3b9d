#include <doctest/doctest.h>

#include "admin/api_requests.hpp"
#include "admin/json_body.hpp"

using namespace dkr::admin;
using dkr::signer::Algorithm;

TEST_CASE("malformed JSON and non-objects are rejected") {
  CHECK(parse_json_object("").ok());
  CHECK(parse_json_object("  \n").value().empty());
  auto bad = parse_json_object("{\"domain\": ");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.rfind("malformed JSON", 0) == 0);
  auto array = parse_json_object("[1,2]");
  REQUIRE_FALSE(array.ok());
  CHECK(array.error().message == "request body must be a JSON object");
}

TEST_CASE("add-domain requests: fields, types and values") {
  auto ok = parse_add_domain(R"({"domain":"example.com","algorithm":"ed25519-sha256","selector":"k1"})");
  REQUIRE(ok.ok());
  CHECK(ok->domain == "example.com");
  CHECK(ok->algorithm == Algorithm::Ed25519Sha256);
  CHECK(ok->selector == "k1");
  CHECK_FALSE(ok->bits.has_value());

  auto unknown = parse_add_domain(R"({"domain":"example.com","algo":"rsa-sha256"})");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().message == "unknown field 'algo'");

  auto missing = parse_add_domain(R"({"bits":2048})");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message == "missing required field 'domain'");

  auto wrong_type = parse_add_domain(R"({"domain":"example.com","bits":"2048"})");
  REQUIRE_FALSE(wrong_type.ok());
  CHECK(wrong_type.error().message == "field 'bits' must be an integer");

  auto float_bits = parse_add_domain(R"({"domain":"example.com","bits":2048.5})");
  REQUIRE_FALSE(float_bits.ok());
  CHECK(float_bits.error().message == "field 'bits' must be an integer");

  CHECK_FALSE(parse_add_domain(R"({"domain":"example.com","bits":1024})").ok());
  CHECK_FALSE(parse_add_domain(R"({"domain":"example.com","bits":-1})").ok());
  CHECK_FALSE(parse_add_domain(R"({"domain":"example.com","bits":99999999999999999999})").ok());
  CHECK(parse_add_domain(R"({"domain":"example.com","bits":4096})").ok());
  CHECK_FALSE(parse_add_domain(R"({"domain":"example.com","algorithm":"ed25519-sha256","bits":2048})").ok());
  CHECK_FALSE(parse_add_domain(R"({"domain":"example.com","algorithm":"rsa-sha1"})").ok());
  CHECK_FALSE(parse_add_domain(R"({"domain":"exa mple.com"})").ok());
  CHECK_FALSE(parse_add_domain(R"({"domain":"a..b"})").ok());
  CHECK_FALSE(parse_add_domain(R"({"domain":"example.com","selector":"bad_selector"})").ok());
  CHECK_FALSE(parse_add_domain(R"({"domain":"example.com","selector":""})").ok());
}

TEST_CASE("rotate requests need a valid activate mode") {
  auto now = parse_rotate(R"({"activate":"now"})");
  REQUIRE(now.ok());
  CHECK(now->activate == Activation::Now);
  auto later = parse_rotate(R"({"activate":"after_dns","algorithm":"rsa-sha256","bits":3072})");
  REQUIRE(later.ok());
  CHECK(later->activate == Activation::AfterDns);
  CHECK(later->bits == 3072);

  auto missing = parse_rotate("{}");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message == "missing required field 'activate'");
  auto bad = parse_rotate(R"({"activate":"later"})");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("'activate'") != std::string::npos);
  CHECK_FALSE(parse_rotate(R"({"activate":true})").ok());
}

TEST_CASE("action bodies must be empty") {
  CHECK(parse_empty_body("").ok());
  CHECK(parse_empty_body("{}").ok());
  auto extra = parse_empty_body(R"({"force":true})");
  REQUIRE_FALSE(extra.ok());
  CHECK(extra.error().message == "unknown field 'force'");
}

TEST_CASE("name syntax") {
  CHECK(is_valid_domain_name("example.com"));
  CHECK(is_valid_domain_name("example.com."));
  CHECK(is_valid_domain_name("xn--bcher-kva.example"));
  CHECK(
      is_valid_domain_name("b\xC3\xBC"
                           "cher.example"));  // U-label: the key store converts it
  CHECK_FALSE(is_valid_domain_name(""));
  CHECK_FALSE(is_valid_domain_name("."));
  CHECK_FALSE(is_valid_domain_name("a/b"));
  CHECK_FALSE(is_valid_domain_name(std::string(64, 'a') + ".com"));
  CHECK(is_valid_selector("s2024-01"));
  CHECK(is_valid_selector("a.b"));
  CHECK_FALSE(is_valid_selector("a."));
  CHECK_FALSE(is_valid_selector("a b"));
}
