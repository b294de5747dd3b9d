// A domain's own rotation policy: effective values, validation naming the field, storage in the
// directory store, and the scheduler applying it (opted-out domains never rotate by schedule).
#include <doctest/doctest.h>

#include "fakes.hpp"
#include "lifecycle/domain_policy.hpp"
#include "lifecycle/key_lifecycle.hpp"
#include "lifecycle/rotation_scheduler.hpp"

namespace dkr::lifecycle {
namespace {

using keystore::KeyState;
using std::chrono::seconds;
using test::count_in;
using test::FakeClock;
using test::FakeProbe;

RotationPolicy global_policy() {
  RotationPolicy policy;
  policy.enabled = true;
  policy.interval = seconds(100);
  policy.retire_after = seconds(20);
  policy.delete_after = seconds(30);
  policy.dns_timeout = seconds(50);
  return policy;
}

PolicyLimits short_limits() {
  PolicyLimits limits;
  limits.check_interval = seconds(1);
  limits.allow_short_intervals = true;
  return limits;
}

keystore::KeyParams ed(std::string selector) {
  keystore::KeyParams p;
  p.algorithm = signer::Algorithm::Ed25519Sha256;
  p.bits = 256;
  p.selector = std::move(selector);
  return p;
}

const keystore::SelectorInfo* in_state(const keystore::DomainInfo& info, KeyState state) {
  for (const auto& key : info.selectors) {
    if (key.state == state) return &key;
  }
  return nullptr;
}

TEST_CASE("the effective policy takes each overridden field from the domain, the rest from the global policy") {
  keystore::RotationOverride own;
  own.interval = 40;
  own.dns_timeout = 7;
  const RotationPolicy effective = effective_policy(global_policy(), own);
  CHECK(effective.enabled);
  CHECK_FALSE(effective.opted_out);
  CHECK(effective.interval == seconds(40));
  CHECK(effective.retire_after == seconds(20));
  CHECK(effective.delete_after == seconds(30));
  CHECK(effective.dns_timeout == seconds(7));
  own.opt_out = true;
  CHECK(effective_policy(global_policy(), own).opted_out);
  CHECK(effective_policy(global_policy(), {}).interval == seconds(100));
}

TEST_CASE("a policy that cannot work is refused with the field named, under the config's rules") {
  RotationPolicy policy = global_policy();
  policy.interval = seconds(86400 * 30);
  policy.retire_after = seconds(86400);
  PolicyLimits limits;  // TTL 300 s, check 60 s, no short intervals
  CHECK(validate_policy(policy, limits));

  policy.retire_after = seconds(359);
  auto refused = validate_policy(policy, limits);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == ErrorCode::invalid);
  CHECK(refused.error().message.find("retire_after") == 0);
  CHECK(refused.error().message.find("at least 360s") != std::string::npos);
  policy.retire_after = seconds(360);
  CHECK(validate_policy(policy, limits));

  policy.interval = seconds(86399);
  refused = validate_policy(policy, limits);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("interval") == 0);
  CHECK(refused.error().message.find("allow_short_intervals") != std::string::npos);
  limits.allow_short_intervals = true;
  CHECK(validate_policy(policy, limits));
}

TEST_CASE("policy durations read as in the config file") {
  CHECK(parse_policy_duration("90d") == seconds(90 * 86400));
  CHECK(parse_policy_duration("72h") == seconds(72 * 3600));
  CHECK(parse_policy_duration("30m") == seconds(1800));
  CHECK(parse_policy_duration("45s") == seconds(45));
  for (const char* bad : {"", "d", "90", "0d", "-1d", "1w", "1.5d", "1d ", "99999999999999999d"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_policy_duration(bad));
  }
  CHECK(format_policy_duration(seconds(7 * 86400)) == "7d");
  CHECK(format_policy_duration(seconds(90)) == "90s");
}

TEST_CASE("DomainPolicy stores the override in the directory store; another instance reads it; reset drops it") {
  keystore::test::TempDir dir;
  FakeClock clock;
  auto store = test::store_at(dir.path(), clock);
  REQUIRE(KeyLifecycle(*store).add_domain("p.example", ed("a")));
  DomainPolicy policies(*store, global_policy(), short_limits());

  PolicyChange change;
  change.interval = seconds(40);
  change.opt_out = true;
  REQUIRE(policies.change("p.example", change));
  PolicyChange more;
  more.delete_after = seconds(9);
  REQUIRE(policies.change("P.Example", more));  // merges with what is stored

  auto other = test::store_at(dir.path(), clock);
  const auto info = other->domain("p.example");
  REQUIRE(info);
  CHECK(info->rotation.opt_out);
  CHECK(info->rotation.interval == 40);
  CHECK(info->rotation.delete_after == 9);
  CHECK_FALSE(info->rotation.retire_after);

  // Refused: nothing stored, the error names the field.
  PolicyChange floor;
  floor.retire_after = seconds(1);  // allow_short_intervals: TTL 0 + check interval 1 s
  CHECK(policies.change("p.example", floor));
  DomainPolicy strict(*store, global_policy(), PolicyLimits{});
  PolicyChange too_short;
  too_short.retire_after = seconds(100);
  auto refused = strict.change("p.example", too_short);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("retire_after") != std::string::npos);
  CHECK(store->domain("p.example")->rotation.retire_after == 1);

  PolicyChange reset;
  reset.reset = true;
  REQUIRE(policies.change("p.example", reset));
  CHECK(store->domain("p.example")->rotation.empty());
  CHECK(test::store_at(dir.path(), clock)->domain("p.example")->rotation.empty());
  CHECK_FALSE(policies.change("missing.example", change));
}

TEST_CASE("the scheduler applies each domain's policy: an opted-out domain never rotates, an overridden one on time") {
  keystore::test::TempDir dir;
  FakeClock clock;
  auto store = test::store_at(dir.path(), clock);
  FakeProbe probe;
  RotationScheduler scheduler(*store, probe, global_policy(), clock.function());
  KeyLifecycle keys(*store);
  const std::int64_t t0 = clock.now;
  REQUIRE(keys.add_domain("out.example", ed("a")));
  REQUIRE(keys.add_domain("fast.example", ed("a")));
  REQUIRE(keys.add_domain("plain.example", ed("a")));
  DomainPolicy policies(*store, global_policy(), short_limits());
  keystore::RotationOverride out;
  out.opt_out = true;
  REQUIRE(policies.set("out.example", out));
  keystore::RotationOverride fast;
  fast.interval = 40;
  fast.retire_after = 5;
  REQUIRE(policies.set("fast.example", fast));

  clock.now = t0 + 39;
  CHECK(scheduler.run_round().staged == 0);
  clock.now = t0 + 40;  // fast.example's own interval, not the global 100 s
  CHECK(scheduler.run_round().staged == 1);
  CHECK(count_in(*store->domain("fast.example"), KeyState::Staged) == 1);
  CHECK(count_in(*store->domain("plain.example"), KeyState::Staged) == 0);

  clock.now = t0 + 100;
  scheduler.run_round();
  CHECK(count_in(*store->domain("plain.example"), KeyState::Staged) == 1);
  for (int i = 0; i < 5; ++i) {
    clock.now += 1000;
    scheduler.run_round();
  }
  CHECK(store->domain("out.example")->selectors.size() == 1);  // opted out: never a successor
  CHECK(in_state(*store->domain("out.example"), KeyState::Active) != nullptr);

  // The metrics count fast's and plain's old keys as past their interval, not the opted-out one's.
  const std::string metrics = render_rotation_metrics(store->list(), global_policy(), clock.now, 0, 0);
  CHECK(metrics.find("\ndkim_relay_keys_past_interval 2\n") != std::string::npos);

  // fast.example's successor is proven: it activates; its old key is revoked at its own retire_after.
  const auto staged = *in_state(*store->domain("fast.example"), KeyState::Staged);
  probe.publish("fast.example", staged);
  scheduler.run_round();
  CHECK(test::key_named(*store->domain("fast.example"), "a")->state == KeyState::Retiring);
  clock.now += 4;
  scheduler.run_round();
  CHECK(test::key_named(*store->domain("fast.example"), "a")->state == KeyState::Retiring);
  clock.now += 1;
  scheduler.run_round();
  CHECK(test::key_named(*store->domain("fast.example"), "a")->state == KeyState::Revoked);
}

TEST_CASE("an opted-out domain still activates a staged key on DNS proof and still revokes and deletes on time") {
  keystore::test::TempDir dir;
  FakeClock clock;
  auto store = test::store_at(dir.path(), clock);
  FakeProbe probe;
  RotationScheduler scheduler(*store, probe, global_policy(), clock.function());
  KeyLifecycle keys(*store);
  REQUIRE(keys.add_domain("out.example", ed("a")));
  keystore::RotationOverride out;
  out.opt_out = true;
  REQUIRE(DomainPolicy(*store, global_policy(), short_limits()).set("out.example", out));

  RotateOptions options;
  options.activation = Activation::AfterDns;
  auto rotated = keys.rotate("out.example", options);
  REQUIRE(rotated);
  REQUIRE(rotated->keys.size() == 1);
  scheduler.run_round();
  CHECK(rotated->keys[0].state == KeyState::Staged);
  probe.publish("out.example", rotated->keys[0]);
  CHECK(scheduler.run_round().activated == 1);
  CHECK(test::key_named(*store->domain("out.example"), "a")->state == KeyState::Retiring);
  clock.now += 20;
  CHECK(scheduler.run_round().revoked == 1);
  clock.now += 30;
  CHECK(scheduler.run_round().deleted == 1);
  clock.now += 10'000;
  CHECK(scheduler.run_round().staged == 0);
  CHECK(store->domain("out.example")->selectors.size() == 1);
}

}  // namespace
}  // namespace dkr::lifecycle
