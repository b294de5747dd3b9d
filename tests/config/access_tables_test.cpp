// Who may sign or manage which domains: domains of [[auth.users]], [[relay.clients]], [[admin.tokens]],
// and the admin listener's plaintext guard.
#include "test_support.hpp"

using namespace dkr::config;
using test::kNoEnvironment;

namespace {

const ConfigError* error_for(const LoadResult& result, const std::string& key) {
  for (const auto& error : result.errors) {
    if (error.key == key) return &error;
  }
  return nullptr;
}

constexpr const char* kHash = "$pbkdf2-sha256$1000$c2FsdA$aGFzaGhhc2hoYXNoaGFzaA";

}  // namespace

TEST_CASE("a user without domains is an error naming the user") {
  auto result = load_config_string(std::string("[[auth.users]]\nname = \"shop\"\npassword_hash = \"") + kHash + "\"\n",
                                   "u.toml", kNoEnvironment);
  const auto* error = error_for(result, "auth.users[0]");
  REQUIRE_MESSAGE(error != nullptr, test::all_errors(result));
  CHECK(error->line == 1);
  CHECK(error->message.find("missing domains for user \"shop\"") != std::string::npos);
  CHECK(result.config.auth_users.empty());
}

TEST_CASE("user domains: patterns are checked, stored lowercase, and may not be empty") {
  auto ok = load_config_string(std::string("[[auth.users]]\nname = \"a\"\npassword_hash = \"") + kHash +
                                   "\"\ndomains = [\"Example.COM\", \"*.example.com\", \"*\"]\n",
                               "u.toml", kNoEnvironment);
  REQUIRE_MESSAGE(ok.ok(), test::all_errors(ok));
  CHECK(ok.config.auth_users.at(0).domains == DomainPatterns{"example.com", "*.example.com", "*"});

  for (const char* bad : {"[\"ex*ample.com\"]", "[\"*example.com\"]", "[\"*.\"]", "[\"a..b\"]", "[]", "[1]"}) {
    CAPTURE(bad);
    auto result = load_config_string(
        std::string("[[auth.users]]\nname = \"a\"\npassword_hash = \"") + kHash + "\"\ndomains = " + bad + "\n",
        "u.toml", kNoEnvironment);
    REQUIRE(error_for(result, "auth.users[0].domains") != nullptr);
    CHECK(error_for(result, "auth.users[0].domains")->line == 4);
  }
}

TEST_CASE("[[relay.clients]] are read in order; missing and unknown keys are reported") {
  auto ok = load_config_string(
      "[[relay.clients]]\nnetworks = [\"10.1.0.0/16\", \"fd00::/8\"]\ndomains = [\"shop.example\"]\n"
      "[[relay.clients]]\nnetworks = [\"10.2.0.0/16\"]\ndomains = [\"*\"]\n",
      "c.toml", kNoEnvironment);
  REQUIRE_MESSAGE(ok.ok(), test::all_errors(ok));
  REQUIRE(ok.config.relay.clients.size() == 2);
  CHECK(ok.config.relay.clients[0].networks.at(1).to_string() == "fd00::/8");
  CHECK(ok.config.relay.clients[0].domains == DomainPatterns{"shop.example"});

  auto bad = load_config_string(
      "[relay]\nmax_recipients = 5\n[[relay.clients]]\nnetworks = [\"10.1.0.1/16\"]\ndomain = [\"x.example\"]\n",
      "c.toml", kNoEnvironment);
  REQUIRE(error_for(bad, "relay.clients[0].networks") != nullptr);
  REQUIRE(error_for(bad, "relay.clients[0].domain") != nullptr);
  CHECK(error_for(bad, "relay.clients[0].domain")->message.find("did you mean \"domains\"") != std::string::npos);
  REQUIRE(error_for(bad, "relay.clients[0]") != nullptr);
  CHECK(error_for(bad, "relay.clients[0]")->message == "missing domains");
  CHECK(bad.config.relay.clients.empty());
}

TEST_CASE("[[admin.tokens]]: role names, duplicate names") {
  auto ok = load_config_string(
      "[[admin.tokens]]\nname = \"shop-ops\"\ntoken_file = \"/run/shop.token\"\ndomains = [\"shop.example\"]\n"
      "role = \"rotate\"\n",
      "t.toml", kNoEnvironment);
  REQUIRE_MESSAGE(ok.ok(), test::all_errors(ok));
  REQUIRE(ok.config.admin.tokens.size() == 1);
  CHECK(ok.config.admin.tokens[0].role == AdminRole::Rotate);
  CHECK(ok.config.admin.tokens[0].token_file == "/run/shop.token");

  auto bad = load_config_string(
      "[[admin.tokens]]\nname = \"a\"\ntoken_file = \"/t\"\ndomains = [\"*\"]\nrole = \"root\"\n"
      "[[admin.tokens]]\nname = \"b\"\ntoken_file = \"/t\"\ndomains = [\"*\"]\nrole = \"read\"\n"
      "[[admin.tokens]]\nname = \"b\"\ntoken_file = \"/u\"\ndomains = [\"*\"]\nrole = \"read\"\n",
      "t.toml", kNoEnvironment);
  REQUIRE(error_for(bad, "admin.tokens[0].role") != nullptr);
  CHECK(error_for(bad, "admin.tokens[0].role")->message.find("\"read\", \"rotate\", \"admin\" or \"metrics\"") !=
        std::string::npos);
  REQUIRE(error_for(bad, "admin.tokens[2]") != nullptr);
  CHECK(error_for(bad, "admin.tokens[2]")->message.find("already defined at line 6") != std::string::npos);
}

TEST_CASE("a non-loopback admin listener without TLS needs allow_plaintext") {
  auto refused = load_config_string("[admin]\nlisten = \"0.0.0.0:8025\"\n", "a.toml", kNoEnvironment);
  REQUIRE(error_for(refused, "admin.listen") != nullptr);
  CHECK(error_for(refused, "admin.listen")->line == 2);
  CHECK(error_for(refused, "admin.listen")->message.find("allow_plaintext") != std::string::npos);

  auto allowed =
      load_config_string("[admin]\nlisten = \"0.0.0.0:8025\"\nallow_plaintext = true\n", "a.toml", kNoEnvironment);
  CHECK_MESSAGE(allowed.ok(), test::all_errors(allowed));
  for (const char* loopback : {"127.0.0.1:8025", "127.9.9.9:1", "[::1]:8025", "localhost:8025"}) {
    CAPTURE(loopback);
    auto result = load_config_string(std::string("[admin]\nlisten = \"") + loopback + "\"\n", "a.toml", kNoEnvironment);
    CHECK_MESSAGE(result.ok(), test::all_errors(result));
  }
  auto disabled = load_config_string("[admin]\nenabled = false\nlisten = \"0.0.0.0:8025\"\n", "a.toml", kNoEnvironment);
  CHECK_MESSAGE(disabled.ok(), test::all_errors(disabled));
}
