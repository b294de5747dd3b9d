// The scheduler with a fake clock and a fake probe: every step, each once, never without DNS proof.
#include <doctest/doctest.h>

#include "fakes.hpp"
#include "lifecycle/key_lifecycle.hpp"
#include "lifecycle/rotation_scheduler.hpp"

namespace dkr::lifecycle {
namespace {

using keystore::KeyState;
using signer::Algorithm;
using test::count_in;
using test::FakeClock;
using test::FakeProbe;

RotationPolicy short_policy() {
  RotationPolicy policy;
  policy.enabled = true;
  policy.interval = std::chrono::seconds(100);
  policy.retire_after = std::chrono::seconds(20);
  policy.delete_after = std::chrono::seconds(30);
  policy.dns_timeout = std::chrono::seconds(50);
  return policy;
}

keystore::KeyParams ed(std::string selector) {
  keystore::KeyParams p;
  p.algorithm = Algorithm::Ed25519Sha256;
  p.bits = 256;
  p.selector = std::move(selector);
  return p;
}

const keystore::SelectorInfo* staged_key(const keystore::DomainInfo& info) {
  for (const auto& key : info.selectors) {
    if (key.state == KeyState::Staged) return &key;
  }
  return nullptr;
}

std::string metric(const std::string& text, const std::string& name) {
  const auto at = text.find("\n" + name + " ");
  REQUIRE(at != std::string::npos);
  const auto start = at + name.size() + 2;
  return text.substr(start, text.find('\n', start) - start);
}

TEST_CASE("a whole cycle: rotate when due, activate on proof only, revoke, delete; each step once") {
  keystore::test::TempDir dir;
  FakeClock clock;
  auto store = test::store_at(dir.path(), clock);
  FakeProbe probe;
  RotationScheduler scheduler(*store, probe, short_policy(), clock.function());
  REQUIRE(KeyLifecycle(*store).add_domain("c.example", ed("first")));
  const std::int64_t t0 = clock.now;

  clock.now = t0 + 99;
  auto r = scheduler.run_round();
  CHECK(r.staged == 0);
  CHECK(store->domain("c.example")->selectors.size() == 1);

  clock.now = t0 + 100;  // due
  r = scheduler.run_round();
  CHECK(r.staged == 1);
  auto info = *store->domain("c.example");
  const auto* next = staged_key(info);
  REQUIRE(next != nullptr);
  CHECK(next->algorithm == Algorithm::Ed25519Sha256);
  CHECK(next->activate_after_dns);
  const std::string successor = next->selector;
  const keystore::SelectorInfo successor_key = *next;

  // Not in DNS: stays staged round after round, never a second successor, status pending.
  for (int i = 0; i < 3; ++i) {
    clock.now += 10;
    r = scheduler.run_round();
    CHECK(r.staged == 0);
    CHECK(r.activated == 0);
  }
  info = *store->domain("c.example");
  CHECK(info.selectors.size() == 2);
  CHECK(count_in(info, KeyState::Staged) == 1);
  auto wait = scheduler.dns_wait("c.example", successor);
  REQUIRE(wait);
  CHECK(wait->status == "pending");

  // Published wrong (the old key's record under the new name): still staged, status error and why.
  probe.records[successor + "._domainkey.c.example"] = test::key_named(info, "first")->dns_record;
  r = scheduler.run_round();
  CHECK(r.activated == 0);
  CHECK(test::key_named(*store->domain("c.example"), successor)->state == KeyState::Staged);
  wait = scheduler.dns_wait("c.example", successor);
  REQUIRE(wait);
  CHECK(wait->status == "error");
  CHECK(wait->reason.find("different") != std::string::npos);
  CHECK(wait->found.size() == 1);

  // Published right: activated, the old key retires.
  probe.publish("c.example", successor_key);
  const std::int64_t switched = clock.now;
  r = scheduler.run_round();
  CHECK(r.activated == 1);
  CHECK(scheduler.rotations_done() == 1);
  info = *store->domain("c.example");
  CHECK(test::key_named(info, successor)->state == KeyState::Active);
  CHECK(test::key_named(info, "first")->state == KeyState::Retiring);
  CHECK_FALSE(scheduler.dns_wait("c.example", successor));
  r = scheduler.run_round();
  CHECK(r.activated + r.staged + r.revoked + r.deleted == 0);

  clock.now = switched + 19;
  CHECK(scheduler.run_round().revoked == 0);
  clock.now = switched + 20;
  CHECK(scheduler.run_round().revoked == 1);
  CHECK(test::key_named(*store->domain("c.example"), "first")->state == KeyState::Revoked);
  CHECK(scheduler.run_round().revoked == 0);

  clock.now = switched + 20 + 29;
  CHECK(scheduler.run_round().deleted == 0);
  clock.now = switched + 20 + 30;
  CHECK(scheduler.run_round().deleted == 1);
  CHECK(test::key_named(*store->domain("c.example"), "first") == nullptr);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "c.example" / "first.pem"));
  CHECK(scheduler.run_round().deleted == 0);
}

TEST_CASE("two leaders for a moment, deciding from stale snapshots, change the store once") {
  keystore::test::TempDir dir;
  FakeClock clock;
  auto store_a = test::store_at(dir.path(), clock);
  REQUIRE(KeyLifecycle(*store_a).add_domain("two.example", ed("first")));
  auto store_b = test::store_at(dir.path(), clock);  // B's snapshot is not reloaded below: stale
  FakeProbe probe;
  RotationScheduler a(*store_a, probe, short_policy(), clock.function());
  RotationScheduler b(*store_b, probe, short_policy(), clock.function());
  clock.now += 1000;  // a clock jump far past every deadline

  CHECK(a.run_round().staged == 1);
  const auto b_round = b.run_round();  // B still sees no staged key: the store's guard refuses
  CHECK(b_round.staged == 0);
  CHECK(b_round.failed == 0);
  REQUIRE(store_a->reload());
  auto info = *store_a->domain("two.example");
  CHECK(info.selectors.size() == 2);
  const auto successor = *staged_key(info);

  probe.publish("two.example", successor);
  REQUIRE(store_b->reload());
  CHECK(a.run_round().activated == 1);
  CHECK(b.run_round().activated == 0);  // B's reading says staged; the store says active: no-op
  CHECK(a.rotations_done() + b.rotations_done() == 1);

  clock.now += 1000;
  REQUIRE(store_b->reload());
  CHECK(a.run_round().revoked == 1);
  CHECK(b.run_round().revoked == 0);
  clock.now += 1000;
  REQUIRE(store_b->reload());
  CHECK(a.run_round().deleted == 1);
  CHECK(b.run_round().deleted == 0);
  REQUIRE(store_a->reload());
  info = *store_a->domain("two.example");
  CHECK(info.selectors.size() == 2);  // the active successor and its own successor, staged after the jump
  CHECK(count_in(info, KeyState::Active) == 1);
}

TEST_CASE("a second leader whose reading predates the successor's activation stages no other successor") {
  keystore::test::TempDir dir;
  FakeClock clock;
  auto store_a = test::store_at(dir.path(), clock);
  REQUIRE(KeyLifecycle(*store_a).add_domain("late.example", ed("first")));
  auto store_b = test::store_at(dir.path(), clock);  // read now; never reloaded below
  FakeProbe probe;
  RotationScheduler a(*store_a, probe, short_policy(), clock.function());
  RotationScheduler b(*store_b, probe, short_policy(), clock.function());
  clock.now += 100;
  REQUIRE(a.run_round().staged == 1);
  probe.publish("late.example", *staged_key(*store_a->domain("late.example")));
  REQUIRE(a.run_round().activated == 1);
  // B still reads "first" active and past its interval, and nothing staged; the store knows better.
  const auto r = b.run_round();
  CHECK(r.staged == 0);
  CHECK(r.failed == 0);
  REQUIRE(store_a->reload());
  CHECK(store_a->domain("late.example")->selectors.size() == 2);
}

TEST_CASE("no activation without proof: DNS down past dns_timeout keeps the key staged, counted as an alert") {
  keystore::test::TempDir dir;
  FakeClock clock;
  auto store = test::store_at(dir.path(), clock);
  FakeProbe probe;
  probe.down = true;
  RotationPolicy policy = short_policy();
  policy.enabled = false;  // activation after DNS runs with scheduled rotation off too
  RotationScheduler scheduler(*store, probe, policy, clock.function());
  KeyLifecycle keys(*store);
  REQUIRE(keys.add_domain("down.example", ed("old")));
  RotateOptions after_dns;
  auto rotated = keys.rotate("down.example", after_dns);
  REQUIRE(rotated);
  const auto key = rotated->keys.front();

  for (int i = 0; i < 5; ++i) {
    clock.now += 30;
    CHECK(scheduler.run_round().activated == 0);
  }
  CHECK(test::key_named(*store->domain("down.example"), key.selector)->state == KeyState::Staged);
  CHECK(scheduler.dns_wait("down.example", key.selector)->status == "error");
  const std::string text = render_rotation_metrics(store->list(), policy, clock.now, scheduler.rotations_done(),
                                                   scheduler.rotations_failed());
  CHECK(metric(text, "dkim_relay_keys_waiting_for_dns") == "1");
  CHECK(metric(text, "dkim_relay_keys_dns_timeout") == "1");
  CHECK(metric(text, "dkim_relay_keys_past_interval") == "1");  // the old key, 150 s past a 100 s interval
  CHECK(metric(text, "dkim_relay_oldest_active_key_age_seconds") == "150");
  CHECK(text.find("dkim_relay_rotations_total{result=\"done\"} 0\n") != std::string::npos);

  probe.down = false;
  probe.publish("down.example", key);
  CHECK(scheduler.run_round().activated == 1);
  CHECK(scheduler.run_round().staged == 0);  // rotation disabled: nothing new is staged
}

TEST_CASE("next scheduled step per key") {
  RotationPolicy policy = short_policy();
  keystore::SelectorInfo key;
  key.created_at = 1000;
  key.activated_at = 1010;
  key.state = KeyState::Active;
  auto s = schedule_of(key, policy, 1050);
  CHECK(s.age_seconds == 50);
  CHECK(s.next_step == KeyStep::Rotate);
  CHECK(s.next_step_at == 1110);
  CHECK_FALSE(s.safe_to_remove_from_dns);
  key.state = KeyState::Retiring;
  key.retired_at = 1200;
  s = schedule_of(key, policy, 1201);
  CHECK(s.next_step == KeyStep::Revoke);
  CHECK(s.next_step_at == 1220);
  CHECK_FALSE(s.safe_to_remove_from_dns);
  key.state = KeyState::Revoked;
  key.revoked_at = 1220;
  s = schedule_of(key, policy, 1221);
  CHECK(s.next_step == KeyStep::Delete);
  CHECK(s.next_step_at == 1250);
  CHECK(s.safe_to_remove_from_dns);
  policy.enabled = false;
  CHECK(schedule_of(key, policy, 1221).next_step == KeyStep::None);
}

}  // namespace
}  // namespace dkr::lifecycle
