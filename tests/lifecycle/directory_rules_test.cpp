// The key lifecycle's rules over a real directory store: the cases that lived in the store's tests
// (tests/keystore/lifecycle_test.cpp) when the store enforced them; the table is lifecycle/'s now
// and the store only compare-and-sets (tests/keystore/state_change_test.cpp).
#include <doctest/doctest.h>

#include "lifecycle/key_lifecycle.hpp"
#include "test_support.hpp"

using namespace dkr::keystore;
using namespace dkr::keystore::test;
using dkr::lifecycle::KeyLifecycle;
using dkr::signer::Algorithm;

namespace {

const SelectorInfo* find(const DomainInfo& info, const std::string& selector) {
  for (const auto& s : info.selectors) {
    if (s.selector == selector) return &s;
  }
  return nullptr;
}

KeyState state_of(const KeyStore& store, const std::string& domain, const std::string& selector) {
  auto info = store.domain(domain);
  REQUIRE(info);
  const SelectorInfo* s = find(*info, selector);
  REQUIRE(s != nullptr);
  return s->state;
}

}  // namespace

TEST_CASE("lifecycle: staged -> active -> retiring -> revoked -> removed") {
  TempDir dir;
  auto store = open_store(dir.path());
  KeyLifecycle keys(*store);
  REQUIRE(store->add_domain("example.org", ed25519("one")));
  auto two = store->stage_key("example.org", ed25519("two"));
  REQUIRE(two);
  CHECK(two->state == KeyState::Staged);
  // A staged key is published but does not sign.
  CHECK(active_selector(*store, "example.org", Algorithm::Ed25519Sha256) == "one");

  REQUIRE(keys.activate_forced("example.org", "two"));
  CHECK(state_of(*store, "example.org", "two") == KeyState::Active);
  CHECK(state_of(*store, "example.org", "one") == KeyState::Retiring);  // same transition
  CHECK(active_selector(*store, "example.org", Algorithm::Ed25519Sha256) == "two");
  {
    auto info = store->domain("example.org");
    CHECK(find(*info, "one")->retired_at == 1'790'000'000);
    CHECK(find(*info, "two")->activated_at == 1'790'000'000);
  }

  // retiring -> active again (roll back), then forward again.
  REQUIRE(keys.activate_forced("example.org", "one"));
  CHECK(state_of(*store, "example.org", "two") == KeyState::Retiring);
  REQUIRE(keys.activate_forced("example.org", "two"));

  REQUIRE(keys.revoke("example.org", "one"));
  auto info = store->domain("example.org");
  CHECK(find(*info, "one")->state == KeyState::Revoked);
  CHECK(find(*info, "one")->dns_record == "v=DKIM1; p=");
  CHECK(find(*info, "one")->revoked_at == 1'790'000'000);

  REQUIRE(keys.remove_key("example.org", "one"));
  CHECK_FALSE(std::filesystem::exists(dir / "example.org" / "one.pem"));
  info = store->domain("example.org");
  CHECK(find(*info, "one") == nullptr);

  // active -> retiring leaves the domain without a signing key.
  REQUIRE(keys.retire("example.org", "two"));
  CHECK(store->signer_for("example.org") == nullptr);
  CHECK(store->domain("example.org"));  // still listed
}

TEST_CASE("invalid transitions are refused with a reason and change nothing") {
  TempDir dir;
  auto store = open_store(dir.path());
  KeyLifecycle keys(*store);
  REQUIRE(store->add_domain("example.net", ed25519("act")));
  REQUIRE(store->stage_key("example.net", ed25519("stg")));
  REQUIRE(store->stage_key("example.net", ed25519("old")));
  REQUIRE(keys.activate_forced("example.net", "old"));
  REQUIRE(keys.activate_forced("example.net", "act"));  // old -> retiring
  REQUIRE(store->stage_key("example.net", ed25519("gone")));
  REQUIRE(keys.revoke("example.net", "gone"));  // staged -> revoked is allowed
  const std::string before = read_text(dir / "example.net" / "keys.json");

  auto expect_refused = [&](const dkr::Result<void>& result, const std::string& words) {
    REQUIRE_FALSE(result);
    INFO(result.error().message);
    CHECK(result.error().message.find(words) != std::string::npos);
  };
  expect_refused(keys.revoke("example.net", "act"), "retire it first");
  expect_refused(keys.activate_forced("example.net", "gone"), "revoked");
  expect_refused(keys.retire("example.net", "gone"), "revoked");
  expect_refused(keys.retire("example.net", "stg"), "never active");
  expect_refused(keys.remove_key("example.net", "act"), "active");
  expect_refused(keys.activate_forced("example.net", "missing"), "no selector 'missing'");
  expect_refused(keys.activate_forced("nowhere.example", "act"), "no domain");
  expect_refused(keys.activate_forced("example.net", "Bad/Selector"), "selector");
  CHECK(read_text(dir / "example.net" / "keys.json") == before);

  // Asking for the state a key already has is not an error.
  CHECK(keys.activate_forced("example.net", "act"));
  CHECK(keys.retire("example.net", "old"));
  CHECK(keys.revoke("example.net", "gone"));
  CHECK(read_text(dir / "example.net" / "keys.json") == before);

  // Removing staged, retiring and revoked keys is allowed.
  CHECK(keys.remove_key("example.net", "stg"));
  CHECK(keys.remove_key("example.net", "old"));
  CHECK(keys.remove_key("example.net", "gone"));
}

TEST_CASE("at most one active key per algorithm; RSA and Ed25519 sign side by side") {
  TempDir dir;
  auto store = open_store(dir.path());
  KeyLifecycle keys(*store);
  REQUIRE(store->add_domain("dual.example", KeyParams{.selector = "rsa1"}));
  REQUIRE(store->stage_key("dual.example", ed25519("ed1")));
  REQUIRE(keys.activate_forced("dual.example", "ed1"));
  CHECK(state_of(*store, "dual.example", "rsa1") == KeyState::Active);  // other algorithm untouched
  auto set = store->signer_for("dual.example");
  REQUIRE(set);
  REQUIRE(set->keys.size() == 2);
  CHECK(set->keys[0].selector == "rsa1");
  CHECK(set->keys[1].selector == "ed1");
  const auto stats = store->stats();
  CHECK(stats.domains == 1);
  CHECK(stats.keys_by_state[static_cast<int>(KeyState::Active)] == 2);
}
