#include <doctest/doctest.h>

#include <iostream>
#include <sstream>

#include "commands.hpp"
#include "test_support.hpp"

using namespace dkr::keystore;
using namespace dkr::keystore::test;

namespace {

struct Run {
  int code;
  std::string out;
  std::string err;
};

Run keys(std::vector<std::string> words) {
  std::vector<std::string_view> views(words.begin(), words.end());
  std::ostringstream out;
  std::ostringstream err;
  auto* old_out = std::cout.rdbuf(out.rdbuf());
  auto* old_err = std::cerr.rdbuf(err.rdbuf());
  const int code = dkr::app::run_keys(views);
  std::cout.rdbuf(old_out);
  std::cerr.rdbuf(old_err);
  return Run{code, out.str(), err.str()};
}

}  // namespace

TEST_CASE("keys CLI: add, rotate, dns, list, retire, revoke, remove") {
  TempDir dir;
  const std::string store = (dir / "keys").string();

  auto added = keys({"--keystore", store, "add", "Example.com", "--algorithm", "ed25519-sha256", "--selector", "one"});
  INFO(added.err);
  REQUIRE(added.code == 0);
  CHECK(added.out.find("one._domainkey.example.com. 3600 IN TXT") != std::string::npos);

  auto rotated = keys({"--keystore", store, "rotate", "example.com", "--algorithm", "ed25519-sha256", "--selector",
                       "two", "--activate", "now"});
  REQUIRE(rotated.code == 0);
  {
    auto reader = open_store(store);
    auto set = reader->signer_for("example.com");
    REQUIRE(set);
    CHECK(set->keys.at(0).selector == "two");
  }
  auto staged = keys({"--keystore", store, "rotate", "example.com", "--algorithm", "ed25519-sha256"});
  REQUIRE(staged.code == 0);
  CHECK(staged.out.find("keys activate example.com") != std::string::npos);

  auto listed = keys({"--keystore", store, "list"});
  REQUIRE(listed.code == 0);
  CHECK(listed.out.find("example.com\tone\ted25519-sha256\t256\tretiring") != std::string::npos);
  CHECK(listed.out.find("example.com\ttwo\ted25519-sha256\t256\tactive") != std::string::npos);

  REQUIRE(keys({"--keystore", store, "revoke", "example.com", "one"}).code == 0);
  auto dns = keys({"--keystore", store, "dns", "example.com"});
  REQUIRE(dns.code == 0);
  CHECK(dns.out.find("one._domainkey.example.com. 3600 IN TXT ( \"v=DKIM1; p=\" )") != std::string::npos);
  CHECK(dns.out.find("two._domainkey.example.com. 3600 IN TXT ( \"v=DKIM1; k=ed25519; p=") != std::string::npos);
  auto delegated = keys({"--keystore", store, "dns", "example.com", "--delegation-zone", "dkim.esp.example"});
  REQUIRE(delegated.code == 0);
  CHECK(delegated.out.find("two._domainkey.example.com. 3600 IN CNAME two.example.com.dkim.esp.example.") !=
        std::string::npos);
  CHECK(delegated.out.find("two.example.com.dkim.esp.example. 3600 IN TXT (") != std::string::npos);

  auto refused = keys({"--keystore", store, "revoke", "example.com", "two"});
  CHECK(refused.code == 1);
  CHECK(refused.err.find("retire it first") != std::string::npos);
  CHECK(keys({"--keystore", store, "retire", "example.com", "two"}).code == 0);
  CHECK(keys({"--keystore", store, "remove", "example.com", "one"}).code == 0);
  CHECK_FALSE(std::filesystem::exists(dir / "keys" / "example.com" / "one.pem"));
  CHECK(keys({"--keystore", store, "activate", "example.com", "two"}).code == 0);
  CHECK(keys({"--keystore", store, "remove-domain", "example.com"}).code == 1);
  CHECK(keys({"--keystore", store, "remove-domain", "example.com", "--force"}).code == 0);
  CHECK(keys({"--keystore", store, "dns", "example.com"}).code == 1);
}

TEST_CASE("keys CLI: usage errors exit 2, failures exit 1") {
  TempDir dir;
  const std::string store = (dir / "keys").string();
  CHECK(keys({}).code == 2);
  CHECK(keys({"--keystore", store, "frobnicate"}).code == 2);
  CHECK(keys({"--keystore", store, "add"}).code == 2);
  CHECK(keys({"--keystore", store, "activate", "example.com"}).code == 2);
  CHECK(keys({"--keystore", store, "add", "example.com", "--algorithm", "dsa"}).code == 2);
  CHECK(keys({"--keystore", store, "add", "example.com", "--bits", "lots"}).code == 2);
  CHECK(keys({"--keystore", store, "rotate", "example.com", "--activate", "soon"}).code == 2);
  auto weak = keys({"--keystore", store, "add", "example.com", "--bits", "1024"});
  CHECK(weak.code == 1);
  CHECK(weak.err.find("2048") != std::string::npos);
  CHECK(keys({"--keystore", store, "add", "not_a.domain"}).code == 1);
  CHECK(keys({"--keystore", store, "import-pem", "example.com", "s", (dir / "none.pem").string()}).code == 1);
  CHECK(keys({"--help"}).code == 0);
}
