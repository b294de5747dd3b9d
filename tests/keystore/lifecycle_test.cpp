#include <doctest/doctest.h>

#include "test_support.hpp"

using namespace dkr::keystore;
using namespace dkr::keystore::test;
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

std::string active_selector(const KeyStore& store, const std::string& domain, Algorithm algorithm) {
  auto set = store.signer_for(domain);
  if (!set) return {};
  for (const auto& key : set->keys) {
    if (key.key->algorithm() == algorithm) return key.selector;
  }
  return {};
}

}  // namespace

TEST_CASE("add_domain creates an active key, files 0600 in a 0700 folder") {
  TempDir dir;
  auto store = open_store(dir / "keys");
  CHECK(mode_of(dir / "keys") == 0700);
  auto added = store->add_domain("Example.com", KeyParams{});
  REQUIRE(added);
  CHECK(added->selector == "s202609a");  // from the test clock, 2026-09
  CHECK(added->state == KeyState::Active);
  CHECK(added->bits == 2048);
  CHECK(record_tag(added->dns_record, "k") == "rsa");
  CHECK(mode_of(dir / "keys" / "example.com") == 0700);
  CHECK(mode_of(dir / "keys" / "example.com" / "s202609a.pem") == 0600);
  CHECK(mode_of(dir / "keys" / "example.com" / "keys.json") == 0600);

  auto set = store->signer_for("example.com");
  REQUIRE(set);
  REQUIRE(set->keys.size() == 1);
  CHECK(set->keys[0].selector == "s202609a");
  auto signature = set->keys[0].key->sign("header data");
  REQUIRE(signature);
  CHECK(verify_with_record(added->dns_record, "header data", *signature));

  auto again = store->add_domain("example.com", KeyParams{});
  REQUIRE_FALSE(again);
  CHECK(again.error().message.find("already exists") != std::string::npos);

  // Survives a reopen.
  store.reset();
  auto reopened = open_store(dir / "keys");
  CHECK(active_selector(*reopened, "example.com", Algorithm::RsaSha256) == "s202609a");
}

TEST_CASE("key parameters: RSA sizes, Ed25519, selectors") {
  TempDir dir;
  auto store = open_store(dir.path());
  KeyParams weak;
  weak.bits = 1024;
  auto refused = store->add_domain("weak.example", weak);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("2048") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "weak.example"));

  KeyParams odd;
  odd.bits = 2500;
  CHECK_FALSE(store->add_domain("odd.example", odd));

  KeyParams big;
  big.bits = 3072;
  big.selector = "Big";
  auto added = store->add_domain("big.example", big);
  REQUIRE(added);
  CHECK(added->selector == "big");
  CHECK(added->bits == 3072);

  auto ed = store->stage_key("big.example", ed25519());
  REQUIRE(ed);
  CHECK(ed->bits == 256);
  CHECK(ed->selector == "s202609a");
  CHECK(record_tag(ed->dns_record, "k") == "ed25519");

  KeyParams bad_selector = ed25519("-bad");
  CHECK_FALSE(store->stage_key("big.example", bad_selector));
  KeyParams duplicate = ed25519("big");
  auto dup = store->stage_key("big.example", duplicate);
  REQUIRE_FALSE(dup);
  CHECK(dup.error().message.find("already exists") != std::string::npos);
  CHECK_FALSE(store->stage_key("not a domain", ed25519()));
}

TEST_CASE("lifecycle: staged -> active -> retiring -> revoked -> removed") {
  TempDir dir;
  auto store = open_store(dir.path());
  REQUIRE(store->add_domain("example.org", ed25519("one")));
  auto two = store->stage_key("example.org", ed25519("two"));
  REQUIRE(two);
  CHECK(two->state == KeyState::Staged);
  // A staged key is published but does not sign.
  CHECK(active_selector(*store, "example.org", Algorithm::Ed25519Sha256) == "one");

  REQUIRE(store->activate("example.org", "two"));
  CHECK(state_of(*store, "example.org", "two") == KeyState::Active);
  CHECK(state_of(*store, "example.org", "one") == KeyState::Retiring);  // same transition
  CHECK(active_selector(*store, "example.org", Algorithm::Ed25519Sha256) == "two");
  {
    auto info = store->domain("example.org");
    CHECK(find(*info, "one")->retired_at == 1'790'000'000);
    CHECK(find(*info, "two")->activated_at == 1'790'000'000);
  }

  // retiring -> active again (roll back), then forward again.
  REQUIRE(store->activate("example.org", "one"));
  CHECK(state_of(*store, "example.org", "two") == KeyState::Retiring);
  REQUIRE(store->activate("example.org", "two"));

  REQUIRE(store->revoke("example.org", "one"));
  auto info = store->domain("example.org");
  CHECK(find(*info, "one")->state == KeyState::Revoked);
  CHECK(find(*info, "one")->dns_record == "v=DKIM1; p=");
  CHECK(find(*info, "one")->revoked_at == 1'790'000'000);

  REQUIRE(store->remove_key("example.org", "one"));
  CHECK_FALSE(std::filesystem::exists(dir / "example.org" / "one.pem"));
  info = store->domain("example.org");
  CHECK(find(*info, "one") == nullptr);

  // active -> retiring leaves the domain without a signing key.
  REQUIRE(store->retire("example.org", "two"));
  CHECK(store->signer_for("example.org") == nullptr);
  CHECK(store->domain("example.org"));  // still listed
}

TEST_CASE("invalid transitions are refused with a reason and change nothing") {
  TempDir dir;
  auto store = open_store(dir.path());
  REQUIRE(store->add_domain("example.net", ed25519("act")));
  REQUIRE(store->stage_key("example.net", ed25519("stg")));
  REQUIRE(store->stage_key("example.net", ed25519("old")));
  REQUIRE(store->activate("example.net", "old"));
  REQUIRE(store->activate("example.net", "act"));  // old -> retiring
  REQUIRE(store->stage_key("example.net", ed25519("gone")));
  REQUIRE(store->revoke("example.net", "gone"));  // staged -> revoked is allowed
  const std::string before = read_text(dir / "example.net" / "keys.json");

  auto expect_refused = [&](const dkr::Result<void>& result, const std::string& words) {
    REQUIRE_FALSE(result);
    INFO(result.error().message);
    CHECK(result.error().message.find(words) != std::string::npos);
  };
  expect_refused(store->revoke("example.net", "act"), "retire it first");
  expect_refused(store->activate("example.net", "gone"), "revoked");
  expect_refused(store->retire("example.net", "gone"), "revoked");
  expect_refused(store->retire("example.net", "stg"), "never active");
  expect_refused(store->remove_key("example.net", "act"), "active");
  expect_refused(store->activate("example.net", "missing"), "no selector 'missing'");
  expect_refused(store->activate("nowhere.example", "act"), "no domain");
  expect_refused(store->activate("example.net", "Bad/Selector"), "selector");
  CHECK(read_text(dir / "example.net" / "keys.json") == before);

  // Asking for the state a key already has is not an error.
  CHECK(store->activate("example.net", "act"));
  CHECK(store->retire("example.net", "old"));
  CHECK(store->revoke("example.net", "gone"));
  CHECK(read_text(dir / "example.net" / "keys.json") == before);

  // Removing staged, retiring and revoked keys is allowed.
  CHECK(store->remove_key("example.net", "stg"));
  CHECK(store->remove_key("example.net", "old"));
  CHECK(store->remove_key("example.net", "gone"));
}

TEST_CASE("at most one active key per algorithm; RSA and Ed25519 sign side by side") {
  TempDir dir;
  auto store = open_store(dir.path());
  REQUIRE(store->add_domain("dual.example", KeyParams{.selector = "rsa1"}));
  REQUIRE(store->stage_key("dual.example", ed25519("ed1")));
  REQUIRE(store->activate("dual.example", "ed1"));
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

TEST_CASE("remove_domain is refused while a key is active unless forced") {
  TempDir dir;
  auto store = open_store(dir.path());
  REQUIRE(store->add_domain("gone.example", ed25519("k1")));
  auto refused = store->remove_domain("gone.example", false);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("k1") != std::string::npos);
  REQUIRE(store->remove_domain("gone.example", true));
  CHECK(store->signer_for("gone.example") == nullptr);
  CHECK_FALSE(store->domain("gone.example"));
  CHECK(store->list().empty());
  // Only the lock file remains.
  std::vector<std::string> left;
  for (const auto& item : std::filesystem::directory_iterator(dir.path())) {
    left.push_back(item.path().filename().string());
  }
  CHECK(left == std::vector<std::string>{".lock"});

  REQUIRE(store->add_domain("quiet.example", ed25519("k1")));
  REQUIRE(store->retire("quiet.example", "k1"));
  CHECK(store->remove_domain("quiet.example", false));
  CHECK_FALSE(store->remove_domain("quiet.example", false));  // no longer there
}

TEST_CASE("stage_key on a new domain creates it with a staged key only") {
  TempDir dir;
  auto store = open_store(dir.path());
  auto staged = store->stage_key("new.example", ed25519());
  REQUIRE(staged);
  CHECK(store->signer_for("new.example") == nullptr);
  auto info = store->domain("new.example");
  REQUIRE(info);
  CHECK(info->selectors.size() == 1);
  REQUIRE(store->activate("new.example", staged->selector));
  CHECK(store->signer_for("new.example") != nullptr);
  // The selector pattern moves on to the next free sequence.
  auto second = store->stage_key("new.example", ed25519());
  REQUIRE(second);
  CHECK(second->selector == "s202609b");
}
