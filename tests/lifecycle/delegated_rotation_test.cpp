// Delegated domains: keys take turns in the fixed slots, we publish their records, activation waits
// for the owner's chain (probed under the slot) to serve the key, the old slot is revoked in DNS.
#include <doctest/doctest.h>

#include "dns/delegation_status.hpp"
#include "fakes.hpp"
#include "lifecycle/key_lifecycle.hpp"
#include "lifecycle/rotation_scheduler.hpp"

namespace dkr::lifecycle {
namespace {

using keystore::KeyState;
using signer::Algorithm;
using test::FakeClock;
using test::FakeProbe;

// A zone in memory with RecordPublisher's guarded semantics.
class FakePublisher final : public dns::RecordPublisher {
 public:
  std::map<std::string, std::string> zone;
  std::string failing;  // rcode to fail with; empty: works
  int calls = 0;

  dns::PublishResult publish(std::string_view name, std::string_view text) override {
    return change(name, std::nullopt, std::string(text));
  }
  dns::PublishResult replace(std::string_view name, std::string_view expected, std::string_view text) override {
    return change(name, std::string(expected), std::string(text));
  }
  dns::PublishResult remove(std::string_view name, std::string_view expected) override {
    ++calls;
    if (!failing.empty()) return failed();
    const auto at = zone.find(std::string(name));
    if (at == zone.end()) return {dns::PublishResult::Outcome::AlreadySo, {}, "", ""};
    if (at->second != expected) return {dns::PublishResult::Outcome::Conflict, {at->second}, "", "changed"};
    zone.erase(at);
    return {dns::PublishResult::Outcome::Changed, {}, "", ""};
  }
  dns::PublishResult probe() override {
    return failing.empty() ? dns::PublishResult{dns::PublishResult::Outcome::AlreadySo, {}, "", ""} : failed();
  }

 private:
  dns::PublishResult failed() {
    return {dns::PublishResult::Outcome::Failed, {}, failing, "the server said " + failing};
  }
  dns::PublishResult change(std::string_view name, std::optional<std::string> expected, std::string text) {
    ++calls;
    if (!failing.empty()) return failed();
    const auto at = zone.find(std::string(name));
    if (at != zone.end() && at->second == text) return {dns::PublishResult::Outcome::AlreadySo, {}, "", ""};
    const bool matches = at == zone.end() ? !expected.has_value() : expected && *expected == at->second;
    if (!matches) {
      std::vector<std::string> found;
      if (at != zone.end()) found.push_back(at->second);
      return {dns::PublishResult::Outcome::Conflict, found, "", "conflict"};
    }
    zone[std::string(name)] = text;
    return {dns::PublishResult::Outcome::Changed, {}, "", ""};
  }
};

constexpr std::string_view kZone = "dkim.esp.example";

// The owner's CNAMEs: the probe sees, under each slot, what our zone holds behind it.
void follow_cnames(FakeProbe& probe, const FakePublisher& publisher, const std::string& domain) {
  probe.records.clear();
  for (const char* slot : {"dkr1", "dkr2"}) {
    const auto at = publisher.zone.find(dns::delegated_record_name(slot, domain, kZone));
    if (at != publisher.zone.end()) probe.records[std::string(slot) + "._domainkey." + domain] = at->second;
  }
}

RotationPolicy policy() {
  RotationPolicy p;
  p.enabled = true;
  p.interval = std::chrono::seconds(100);
  p.retire_after = std::chrono::seconds(20);
  p.delete_after = std::chrono::seconds(30);
  p.dns_timeout = std::chrono::seconds(500);
  return p;
}

const keystore::SelectorInfo* in_state(const keystore::DomainInfo& info, KeyState state) {
  for (const auto& key : info.selectors) {
    if (key.state == state) return &key;
  }
  return nullptr;
}

TEST_CASE("a delegated domain rotates through its slots; we publish, activation waits for the chain") {
  keystore::test::TempDir dir;
  FakeClock clock;
  auto store = test::store_at(dir.path(), clock);
  FakeProbe probe;
  auto publisher = std::make_shared<FakePublisher>();
  RotationScheduler scheduler(*store, probe, policy(), clock.function());
  scheduler.enable_delegation(publisher, DelegationSettings{std::string(kZone), {"dkr1", "dkr2"}});
  const std::string d = "cust.example";
  const std::string r1 = dns::delegated_record_name("dkr1", d, kZone);
  const std::string r2 = dns::delegated_record_name("dkr2", d, kZone);

  CHECK_FALSE(KeyLifecycle(*store).add_delegated_domain(d, {}, clock.now));  // no slots: publishing is off
  KeyLifecycle keys(*store, {"dkr1", "dkr2"});
  keystore::KeyParams params;
  params.algorithm = Algorithm::Ed25519Sha256;
  params.bits = 256;
  auto first = keys.add_delegated_domain(d, params, clock.now);
  REQUIRE(first);
  CHECK(first->slot == "dkr1");
  CHECK(first->selector != "dkr1");
  CHECK(first->state == KeyState::Staged);
  CHECK(store->domain(d)->delegated);
  CHECK(store->signer_for(d) == nullptr);  // relay.unsigned until Connected

  // Round 1: published, but the owner's CNAMEs are not there: nothing activates.
  scheduler.run_round();
  CHECK(publisher->zone.at(r1) == first->dns_record);
  CHECK(in_state(*store->domain(d), KeyState::Active) == nullptr);
  // The CNAMEs appear: activated, and the signer puts the slot into s=.
  follow_cnames(probe, *publisher, d);
  CHECK(scheduler.run_round().activated == 1);
  auto set = store->signer_for(d);
  REQUIRE(set);
  CHECK(set->keys.at(0).selector == "dkr1");

  std::vector<std::string> names{first->selector};
  std::string active_slot = "dkr1";
  for (int rotation = 0; rotation < 3; ++rotation) {
    clock.now += 100;
    CHECK(scheduler.run_round().staged == 1);
    auto info = *store->domain(d);
    const auto* staged = in_state(info, KeyState::Staged);
    REQUIRE(staged != nullptr);
    // Into the idle slot, never the active one; a new name every time.
    CHECK(staged->slot != active_slot);
    CHECK(std::find(names.begin(), names.end(), staged->selector) == names.end());
    names.push_back(staged->selector);
    const std::string new_slot = staged->slot;
    const std::string new_record = dns::delegated_record_name(new_slot, d, kZone);
    CHECK(publisher->zone.at(new_record) == staged->dns_record);
    // Published, but resolvers do not serve it yet: no proof, no activation.
    follow_cnames(probe, *publisher, d);
    probe.records.erase(new_slot + "._domainkey." + d);  // resolvers have not seen it yet
    CHECK(scheduler.run_round().activated == 0);
    follow_cnames(probe, *publisher, d);
    CHECK(scheduler.run_round().activated == 1);
    info = *store->domain(d);
    CHECK(store->signer_for(d)->keys.at(0).selector == new_slot);
    const auto* retiring = in_state(info, KeyState::Retiring);
    REQUIRE(retiring != nullptr);
    CHECK(retiring->slot == active_slot);
    const std::string old_record = dns::delegated_record_name(active_slot, d, kZone);
    CHECK(publisher->zone.at(old_record) == retiring->dns_record);  // kept for retire_after
    clock.now += 20;
    CHECK(scheduler.run_round().revoked == 1);
    CHECK(publisher->zone.at(old_record) == dns::kRevokedRecord);
    clock.now += 30;
    CHECK(scheduler.run_round().deleted == 1);
    CHECK(publisher->zone.at(old_record) == dns::kRevokedRecord);  // stays until the slot is reused
    active_slot = new_slot;
  }
  CHECK(publisher->zone.size() == 2);
}

TEST_CASE("publishing failures: nothing activates, the error and rcode are kept, retried with backoff") {
  keystore::test::TempDir dir;
  FakeClock clock;
  auto store = test::store_at(dir.path(), clock);
  FakeProbe probe;
  auto publisher = std::make_shared<FakePublisher>();
  RotationScheduler scheduler(*store, probe, policy(), clock.function());
  scheduler.enable_delegation(publisher, DelegationSettings{std::string(kZone), {"dkr1", "dkr2"}});
  const std::string d = "cust.example";
  KeyLifecycle keys(*store, {"dkr1", "dkr2"});
  keystore::KeyParams params;
  params.algorithm = Algorithm::Ed25519Sha256;
  params.bits = 256;
  REQUIRE(keys.add_delegated_domain(d, params, clock.now));
  publisher->failing = "BADSIG";
  scheduler.run_round();
  auto problem = scheduler.publish_problem(d);
  REQUIRE(problem);
  CHECK(problem->rcode == "BADSIG");
  CHECK(problem->error.find("BADSIG") != std::string::npos);
  {
    // Stored with the domain: another replica (another store instance) sees the leader's problem.
    auto replica = test::store_at(dir.path(), clock);
    const keystore::PublishError stored = replica->domain(d)->publish_error;
    CHECK(stored.rcode == "BADSIG");
    CHECK(stored.error == problem->error);
    CHECK(stored.at == clock.now);
    CHECK(stored.retry_at == problem->retry_at);
    CHECK(stored.retry_at > clock.now);
  }
  const int calls = publisher->calls;
  scheduler.run_round();  // within the backoff: not retried
  CHECK(publisher->calls == calls);
  CHECK(in_state(*store->domain(d), KeyState::Active) == nullptr);
  publisher->failing.clear();
  clock.now += 61;
  {
    // A new leader (empty memory) clears the error a previous leader stored, once publishing works.
    RotationScheduler next_leader(*store, probe, policy(), clock.function());
    next_leader.enable_delegation(publisher, DelegationSettings{std::string(kZone), {"dkr1", "dkr2"}});
    next_leader.run_round();
    CHECK(test::store_at(dir.path(), clock)->domain(d)->publish_error.empty());
  }
  scheduler.run_round();
  CHECK_FALSE(scheduler.publish_problem(d));
  CHECK(test::store_at(dir.path(), clock)->domain(d)->publish_error.empty());
  follow_cnames(probe, *publisher, d);
  CHECK(scheduler.run_round().activated == 1);

  // A record changed behind our back is reported, not overwritten.
  clock.now += 100;
  scheduler.run_round();
  const keystore::DomainInfo reading = *store->domain(d);  // kept: `staged` points into it
  const auto* staged = in_state(reading, KeyState::Staged);
  REQUIRE(staged != nullptr);
  const std::string name = dns::delegated_record_name(staged->slot, d, kZone);
  publisher->zone[name] = "v=DKIM1; k=rsa; p=SOMEONEELSE";
  scheduler.run_round();
  CHECK(publisher->zone.at(name) == "v=DKIM1; k=rsa; p=SOMEONEELSE");
  problem = scheduler.publish_problem(d);
  REQUIRE(problem);
  CHECK(problem->rcode == "conflict");
  CHECK(problem->error.find("SOMEONEELSE") != std::string::npos);
  CHECK(test::store_at(dir.path(), clock)->domain(d)->publish_error.rcode == "conflict");
}

}  // namespace
}  // namespace dkr::lifecycle
