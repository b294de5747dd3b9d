// BIND's key-file format, as tsig-keygen writes it, and the mistakes an operator makes in it.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "dns/tsig_key.hpp"

using namespace dkr::dns;

namespace {

constexpr const char* kSecret = "q6cZ3jG0D3Xh0sGZ0vVf5zkQ8cS6tFq9pI3mM0bQe5Y=";

std::string problem(std::string_view text) {
  auto key = parse_tsig_key(text);
  REQUIRE_FALSE(key);
  return key.error().message;
}

}  // namespace

TEST_CASE("the file tsig-keygen writes") {
  const std::string text =
      std::string("key \"dkim-relay\" {\n\talgorithm hmac-sha256;\n\tsecret \"") + kSecret + "\";\n};\n";
  auto key = parse_tsig_key(text);
  REQUIRE_MESSAGE(key, key.error().message);
  CHECK(key->name == "dkim-relay");
  CHECK(key->algorithm == "hmac-sha256");
  CHECK(key->secret == kSecret);
}

TEST_CASE("comments, an unquoted name with a final dot, upper case algorithm, hmac-sha512") {
  const std::string text = std::string(
                               "# made by hand\n// for the relay\n/* two\nlines */ key update.esp.example. {\n"
                               "  algorithm HMAC-SHA512; secret \"") +
                           kSecret + "\"; };";
  auto key = parse_tsig_key(text);
  REQUIRE_MESSAGE(key, key.error().message);
  CHECK(key->name == "update.esp.example");
  CHECK(key->algorithm == "hmac-sha512");
}

TEST_CASE("what is wrong is said with its line, and the secret is never quoted") {
  CHECK(problem("").find("expected a key statement") != std::string::npos);
  CHECK(problem("key \"k\" {\n algorithm hmac-md5;\n secret \"AAAA\";\n};")
            .find("line 2: algorithm hmac-md5 is not "
                  "supported") != std::string::npos);
  const std::string not_base64 = problem("key \"k\" {\n algorithm hmac-sha256;\n secret \"not*base64!\";\n};");
  CHECK(not_base64.find("line 3: the secret is not base64") != std::string::npos);
  CHECK(not_base64.find("not*base64!") == std::string::npos);
  CHECK(problem("key \"k\" { secret \"AAAA\"; };").find("no algorithm") != std::string::npos);
  CHECK(problem("key \"k\" { algorithm hmac-sha256; };").find("no secret") != std::string::npos);
  CHECK(problem("key \"k\" { algorithm hmac-sha256; secret \"AAAA\" };").find("expected `;`") != std::string::npos);
  CHECK(problem("key \"k\" { algorithm hmac-sha256; secret \"AAAA\"; }").find("after `}`") != std::string::npos);
  CHECK(problem("key \"k\" { algorithm hmac-sha256; secret \"AAAA\"; };\nkey \"j\" { };")
            .find("line 2: more than one statement") != std::string::npos);
  CHECK(problem("key \"k\" { algorithm hmac-sha256; keydata \"AAAA\"; };").find("unknown clause `keydata`") !=
        std::string::npos);
  CHECK(problem("key \"k\" { secret \"AAAA").find("unterminated string") != std::string::npos);
}

TEST_CASE("a file that cannot be read names its path") {
  auto key = read_tsig_key_file("/nonexistent/tsig.key");
  REQUIRE_FALSE(key);
  CHECK(key.error().message.find("/nonexistent/tsig.key") != std::string::npos);
}
