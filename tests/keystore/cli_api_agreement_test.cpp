// `keys rotate` and POST /v1/domains/{d}/rotate go through the same lifecycle use case: on the same
// starting store they make keys of the same algorithms and sizes (Ed25519 stays Ed25519, RSA+Ed25519
// stays dual), which they did not before (the CLI made RSA-2048 on an Ed25519 domain).
#include <doctest/doctest.h>

#include <iostream>
#include <map>
#include <set>
#include <tuple>
#include <sstream>

#include "admin/admin_api.hpp"
#include "admin/router.hpp"
#include "commands.hpp"
#include "test_support.hpp"

using namespace dkr::keystore;
using namespace dkr::keystore::test;

namespace {

int cli(std::vector<std::string> words) {
  std::vector<std::string_view> views(words.begin(), words.end());
  std::ostringstream out;
  auto* old_out = std::cout.rdbuf(out.rdbuf());
  auto* old_err = std::cerr.rdbuf(out.rdbuf());
  const int code = dkr::app::run_keys(views);
  std::cout.rdbuf(old_out);
  std::cerr.rdbuf(old_err);
  return code;
}

int api_rotate(KeyStore& store, const std::string& domain, std::string_view body) {
  dkr::admin::AdminCounters counters;
  dkr::admin::AdminApi api(store, nullptr, {}, counters, false);
  auto routed = dkr::admin::match_route("POST", "/v1/domains/" + domain + "/rotate");
  REQUIRE(std::holds_alternative<dkr::admin::Route>(routed));
  int status = 0;
  api.handle(std::get<dkr::admin::Route>(routed), body, [&](dkr::admin::ApiResponse r) { status = r.status; });
  return status;
}

// The keys a rotation added, as (algorithm, bits, state) counts.
std::multiset<std::tuple<std::string, int, std::string>> new_keys(const DomainInfo& before, const DomainInfo& after) {
  std::multiset<std::tuple<std::string, int, std::string>> out;
  for (const auto& key : after.selectors) {
    bool old = false;
    for (const auto& was : before.selectors) old = old || was.selector == key.selector;
    if (!old)
      out.emplace(std::string(dkr::signer::to_string(key.algorithm)), key.bits, std::string(to_string(key.state)));
  }
  return out;
}

void seed(const std::filesystem::path& dir, bool dual) {
  REQUIRE(cli({"--keystore", dir.string(), "add", "x.example", "--algorithm", "ed25519-sha256", "--selector", "e1"}) ==
          0);
  if (dual) {
    REQUIRE(cli({"--keystore", dir.string(), "rotate", "x.example", "--algorithm", "rsa-sha256", "--selector", "r1",
                 "--activate", "now"}) == 0);
  }
}

}  // namespace

TEST_CASE("CLI and API rotations agree: Ed25519 stays Ed25519, RSA+Ed25519 stays dual") {
  for (const bool dual : {false, true}) {
    CAPTURE(dual);
    TempDir by_cli;
    TempDir by_api;
    seed(by_cli.path(), dual);
    seed(by_api.path(), dual);
    auto cli_store = open_store(by_cli.path());
    auto api_store = open_store(by_api.path());
    const DomainInfo cli_before = *cli_store->domain("x.example");
    const DomainInfo api_before = *api_store->domain("x.example");

    REQUIRE(cli({"--keystore", by_cli.path().string(), "rotate", "x.example", "--activate", "now"}) == 0);
    REQUIRE(api_rotate(*api_store, "x.example", R"({"activate":"now"})") == 201);
    REQUIRE(cli_store->reload());
    const auto from_cli = new_keys(cli_before, *cli_store->domain("x.example"));
    const auto from_api = new_keys(api_before, *api_store->domain("x.example"));
    CHECK(from_cli == from_api);
    std::multiset<std::tuple<std::string, int, std::string>> expected{{"ed25519-sha256", 256, "active"}};
    if (dual) expected.emplace("rsa-sha256", 2048, "active");
    CHECK(from_cli == expected);
    // Signing still uses both algorithms on the dual domain.
    CHECK(cli_store->signer_for("x.example")->keys.size() == (dual ? 2u : 1u));
    CHECK(api_store->signer_for("x.example")->keys.size() == (dual ? 2u : 1u));
  }
}

TEST_CASE("emergency rotation from the CLI and the API: the active key is revoked at once, the new one waits for DNS") {
  TempDir by_cli;
  TempDir by_api;
  seed(by_cli.path(), false);
  seed(by_api.path(), false);
  auto api_store = open_store(by_api.path());
  REQUIRE(cli({"--keystore", by_cli.path().string(), "rotate", "x.example", "--emergency"}) == 0);
  REQUIRE(api_rotate(*api_store, "x.example", R"({"activate":"after_dns","emergency":true})") == 202);
  auto cli_store = open_store(by_cli.path());
  for (KeyStore* store : {static_cast<KeyStore*>(cli_store.get()), static_cast<KeyStore*>(api_store.get())}) {
    const DomainInfo info = *store->domain("x.example");
    REQUIRE(info.selectors.size() == 2);
    CHECK(info.selectors[0].state == KeyState::Revoked);
    CHECK(info.selectors[1].state == KeyState::Staged);
    CHECK(info.selectors[1].activate_after_dns);
    CHECK(info.selectors[1].algorithm == dkr::signer::Algorithm::Ed25519Sha256);
    CHECK(store->signer_for("x.example") == nullptr);  // relay.unsigned applies until DNS serves the new key
  }
}
