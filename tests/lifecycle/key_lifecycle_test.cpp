// The use cases the CLI and the API share: what a rotation keeps, activation on DNS proof, emergency.
#include <doctest/doctest.h>

#include "fakes.hpp"
#include "lifecycle/key_lifecycle.hpp"

namespace dkr::lifecycle {
namespace {

using keystore::KeyState;
using signer::Algorithm;
using test::FakeClock;
using test::FakeProbe;

keystore::KeyParams params_of(Algorithm algorithm, std::string selector) {
  keystore::KeyParams p;
  p.algorithm = algorithm;
  p.bits = algorithm == Algorithm::Ed25519Sha256 ? 256 : 2048;
  p.selector = std::move(selector);
  return p;
}

TEST_CASE("rotate keeps an Ed25519 domain on Ed25519") {
  keystore::test::TempDir dir;
  FakeClock clock;
  auto store = test::store_at(dir.path(), clock);
  KeyLifecycle keys(*store);
  REQUIRE(keys.add_domain("ed.example", params_of(Algorithm::Ed25519Sha256, "old")));
  auto rotated = keys.rotate("ed.example", RotateOptions{});
  REQUIRE(rotated);
  REQUIRE(rotated->keys.size() == 1);
  CHECK(rotated->keys[0].algorithm == Algorithm::Ed25519Sha256);
  CHECK(rotated->keys[0].bits == 256);
  CHECK(rotated->keys[0].state == KeyState::Staged);
  CHECK(rotated->keys[0].activate_after_dns);
}

TEST_CASE("rotate keeps RSA+Ed25519 dual signing, each with its size, and activation now retires both") {
  keystore::test::TempDir dir;
  FakeClock clock;
  auto store = test::store_at(dir.path(), clock);
  KeyLifecycle keys(*store);
  REQUIRE(keys.add_domain("dual.example", params_of(Algorithm::RsaSha256, "rsa1")));
  REQUIRE(keys.stage("dual.example", params_of(Algorithm::Ed25519Sha256, "ed1")));
  REQUIRE(keys.activate_forced("dual.example", "ed1"));
  RotateOptions now;
  now.activation = Activation::Now;
  auto rotated = keys.rotate("dual.example", now);
  REQUIRE(rotated);
  REQUIRE(rotated->keys.size() == 2);
  std::map<Algorithm, int> bits;
  for (const auto& key : rotated->keys) {
    bits[key.algorithm] = key.bits;
    CHECK(key.state == KeyState::Active);
  }
  CHECK(bits == std::map<Algorithm, int>{{Algorithm::RsaSha256, 2048}, {Algorithm::Ed25519Sha256, 256}});
  CHECK(rotated->retiring.size() == 2);
  auto info = store->domain("dual.example");
  REQUIRE(info);
  CHECK(test::count_in(*info, KeyState::Active) == 2);
  CHECK(test::count_in(*info, KeyState::Retiring) == 2);
  CHECK(store->signer_for("dual.example")->keys.size() == 2);
}

TEST_CASE("successor_params keeps each algorithm's key size; an explicit algorithm narrows it") {
  keystore::DomainInfo info;
  info.domain = "big.example";
  keystore::SelectorInfo rsa;
  rsa.selector = "r";
  rsa.algorithm = Algorithm::RsaSha256;
  rsa.bits = 3072;
  rsa.state = KeyState::Active;
  keystore::SelectorInfo ed;
  ed.selector = "e";
  ed.algorithm = Algorithm::Ed25519Sha256;
  ed.bits = 256;
  ed.state = KeyState::Active;
  keystore::SelectorInfo old_rsa = rsa;
  old_rsa.selector = "r0";
  old_rsa.bits = 2048;
  old_rsa.state = KeyState::Revoked;
  info.selectors = {old_rsa, rsa, ed};

  auto both = KeyLifecycle::successor_params(info, RotateOptions{});
  REQUIRE(both);
  REQUIRE(both->size() == 2);
  for (const auto& p : *both) CHECK(p.bits == (p.algorithm == Algorithm::RsaSha256 ? 3072 : 256));

  RotateOptions only_ed;
  only_ed.algorithm = Algorithm::Ed25519Sha256;
  auto one = KeyLifecycle::successor_params(info, only_ed);
  REQUIRE(one);
  REQUIRE(one->size() == 1);
  CHECK(one->front().algorithm == Algorithm::Ed25519Sha256);

  RotateOptions named;
  named.selector = "x";
  CHECK_FALSE(KeyLifecycle::successor_params(info, named));  // two keys cannot share one selector

  // After an emergency rotation nothing is active: the newest key of each algorithm is the model.
  info.selectors = {old_rsa};
  auto after = KeyLifecycle::successor_params(info, RotateOptions{});
  REQUIRE(after);
  REQUIRE(after->size() == 1);
  CHECK(after->front().bits == 2048);
}

TEST_CASE("activation needs DNS proof: missing and mismatched keys stay staged with the reason") {
  keystore::test::TempDir dir;
  FakeClock clock;
  auto store = test::store_at(dir.path(), clock);
  KeyLifecycle keys(*store);
  FakeProbe probe;
  REQUIRE(keys.add_domain("p.example", params_of(Algorithm::Ed25519Sha256, "old")));
  auto staged = keys.stage("p.example", params_of(Algorithm::Ed25519Sha256, "new"));
  REQUIRE(staged);

  ProbeResult seen;
  auto missing = keys.activate_if_proven("p.example", *staged, probe, &seen);
  REQUIRE_FALSE(missing);
  CHECK(seen.outcome == ProbeResult::Outcome::Missing);

  auto other = store->domain("p.example");
  probe.records["new._domainkey.p.example"] = test::key_named(*other, "old")->dns_record;  // the old key
  auto mismatch = keys.activate_if_proven("p.example", *staged, probe, &seen);
  REQUIRE_FALSE(mismatch);
  CHECK(seen.outcome == ProbeResult::Outcome::Mismatch);
  CHECK(mismatch.error().message.find("different") != std::string::npos);
  CHECK(test::key_named(*store->domain("p.example"), "new")->state == KeyState::Staged);

  probe.publish("p.example", *staged);
  auto proven = keys.activate_if_proven("p.example", *staged, probe, &seen);
  REQUIRE(proven);
  CHECK(*proven);
  CHECK(test::key_named(*store->domain("p.example"), "new")->state == KeyState::Active);
  CHECK(test::key_named(*store->domain("p.example"), "old")->state == KeyState::Retiring);
  // Asked again (a second leader, a repeated round): nothing changes, and the retiring key stays retiring.
  auto again = keys.activate_if_proven("p.example", *staged, probe, &seen);
  REQUIRE(again);
  CHECK_FALSE(*again);
}

TEST_CASE("emergency rotation revokes the active key at once and stages a successor that waits for DNS") {
  keystore::test::TempDir dir;
  FakeClock clock;
  auto store = test::store_at(dir.path(), clock);
  KeyLifecycle keys(*store);
  REQUIRE(keys.add_domain("leak.example", params_of(Algorithm::Ed25519Sha256, "leaked")));
  REQUIRE(store->signer_for("leak.example"));
  RotateOptions emergency;
  emergency.emergency = true;
  emergency.activation = Activation::Manual;  // an emergency's key never waits for a person
  auto rotated = keys.rotate("leak.example", emergency);
  REQUIRE(rotated);
  CHECK(rotated->revoked == std::vector<std::string>{"leaked"});
  REQUIRE(rotated->keys.size() == 1);
  CHECK(rotated->keys[0].state == KeyState::Staged);
  CHECK(rotated->keys[0].activate_after_dns);
  CHECK(rotated->keys[0].algorithm == Algorithm::Ed25519Sha256);
  auto info = store->domain("leak.example");
  CHECK(test::key_named(*info, "leaked")->state == KeyState::Revoked);
  CHECK(test::key_named(*info, "leaked")->dns_record == "v=DKIM1; p=");
  // No active key: mail for the domain follows relay.unsigned until the successor activates.
  CHECK(store->signer_for("leak.example") == nullptr);

  // Repeated (the operator's retry): the leaked key stays revoked and a second successor is staged
  // only on purpose; the first one is still there, waiting.
  auto again = keys.rotate("leak.example", emergency);
  REQUIRE(again);
  CHECK(again->revoked.empty());
}

TEST_CASE("would_change: what the API asks before it acts, naming the key when the lifecycle forbids it") {
  keystore::SelectorInfo key;
  key.selector = "k1";
  key.state = KeyState::Active;
  auto revoke_active = KeyLifecycle::would_change(KeyAction::Revoke, key, "ask.example");
  REQUIRE_FALSE(revoke_active);
  CHECK(revoke_active.error().code == ErrorCode::conflict);
  CHECK(revoke_active.error().message.find("selector 'k1' of ask.example") != std::string::npos);
  CHECK(revoke_active.error().message.find("retire it first") != std::string::npos);
  auto activate_active = KeyLifecycle::would_change(KeyAction::Activate, key, "ask.example");
  REQUIRE(activate_active);
  CHECK_FALSE(*activate_active);  // already there: nothing to change
  key.state = KeyState::Staged;
  auto activate_staged = KeyLifecycle::would_change(KeyAction::Activate, key, "ask.example");
  REQUIRE(activate_staged);
  CHECK(*activate_staged);
}

}  // namespace
}  // namespace dkr::lifecycle
