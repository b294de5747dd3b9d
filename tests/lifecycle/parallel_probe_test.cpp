// One round probes every staged key at once, bounded, then applies the answers to the right keys;
// and what a probe found is stored with the key, for every replica's API.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>

#include "fakes.hpp"
#include "lifecycle/key_lifecycle.hpp"
#include "lifecycle/rotation_scheduler.hpp"

namespace dkr::lifecycle {
namespace {

using keystore::KeyState;

// Holds each probe until `target` probes are in flight together (or 5 s pass, when the caller probes
// one at a time), then lets every probe through; records the most ever in flight.
class ConcurrencyProbe final : public KeyPublicationProbe {
 public:
  explicit ConcurrencyProbe(std::size_t target) : target_(target) {}
  std::set<std::string> published;  // selectors DNS serves rightly

  ProbeResult probe(std::string_view domain, std::string_view selector, std::string_view) override {
    std::unique_lock lock(mutex_);
    ++in_flight_;
    ++probes_;
    max_in_flight_ = std::max(max_in_flight_, in_flight_);
    if (in_flight_ >= target_) released_ = true;
    changed_.notify_all();
    changed_.wait_for(lock, std::chrono::seconds(5), [&] { return released_; });
    released_ = true;  // after a timeout too: one slow wait, not one per probe
    --in_flight_;
    const std::string name = std::string(domain) + "/" + std::string(selector);
    if (published.contains(name)) return {ProbeResult::Outcome::Proven, "DNS serves this key", {}};
    return {ProbeResult::Outcome::Missing, "no TXT record for " + name, {}};
  }
  std::size_t max_in_flight() const { return max_in_flight_; }
  std::size_t probes() const { return probes_; }

 private:
  std::size_t target_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t in_flight_ = 0;
  std::size_t max_in_flight_ = 0;
  std::size_t probes_ = 0;
  bool released_ = false;
};

keystore::KeyParams ed(std::string selector) {
  keystore::KeyParams p;
  p.algorithm = signer::Algorithm::Ed25519Sha256;
  p.bits = 256;
  p.selector = std::move(selector);
  return p;
}

TEST_CASE("a round probes staged keys in parallel, never more than the bound, and applies each answer to its key") {
  keystore::test::TempDir dir;
  test::FakeClock clock;
  auto store = test::store_at(dir.path(), clock);
  KeyLifecycle keys(*store);
  constexpr int kDomains = 40;
  for (int i = 0; i < kDomains; ++i) {
    const std::string domain = "d" + std::to_string(i) + ".example";
    REQUIRE(keys.add_domain(domain, ed("old")));
    RotateOptions options;
    options.selector = "new";
    options.activation = Activation::AfterDns;
    REQUIRE(keys.rotate(domain, options));
  }
  ConcurrencyProbe probe(8);
  for (int i = 0; i < kDomains; i += 3) probe.published.insert("d" + std::to_string(i) + ".example/new");
  RotationScheduler scheduler(*store, probe, RotationPolicy{}, clock.function());
  scheduler.set_parallel_probes(8);
  const RoundReport report = scheduler.run_round();

  CHECK(probe.probes() == kDomains);
  CHECK(probe.max_in_flight() == 8);  // in parallel (1 if one after another), and bounded
  CHECK(report.activated == static_cast<int>(probe.published.size()));
  CHECK(report.waiting == kDomains - static_cast<int>(probe.published.size()));
  for (int i = 0; i < kDomains; ++i) {
    const std::string domain = "d" + std::to_string(i) + ".example";
    CAPTURE(domain);
    const auto info = store->domain(domain);
    REQUIRE(info);
    const bool proven = i % 3 == 0;
    CHECK(test::key_named(*info, "new")->state == (proven ? KeyState::Active : KeyState::Staged));
    if (!proven) CHECK(test::key_named(*info, "new")->dns_check.reason == "no TXT record for " + domain + "/new");
  }
}

TEST_CASE("the DNS finding is stored with the key for another store instance, rewritten only when it changes") {
  keystore::test::TempDir dir;
  test::FakeClock clock;
  auto store = test::store_at(dir.path(), clock);
  KeyLifecycle keys(*store);
  REQUIRE(keys.add_domain("w.example", ed("old")));
  RotateOptions options;
  options.selector = "new";
  options.activation = Activation::AfterDns;
  auto rotated = keys.rotate("w.example", options);
  REQUIRE(rotated);
  test::FakeProbe probe;
  RotationScheduler scheduler(*store, probe, RotationPolicy{}, clock.function());
  const std::int64_t t0 = clock.now;

  auto seen_elsewhere = [&] {
    auto other = test::store_at(dir.path(), clock);  // another replica's reading of the same store
    return test::key_named(*other->domain("w.example"), "new")->dns_check;
  };
  scheduler.run_round();
  CHECK(seen_elsewhere().status == "pending");
  CHECK(seen_elsewhere().checked_at == t0);

  probe.records["new._domainkey.w.example"] = "v=DKIM1; k=ed25519; p=someoneelse";
  clock.now = t0 + 5;
  scheduler.run_round();
  keystore::DnsCheck check = seen_elsewhere();
  CHECK(check.status == "error");
  CHECK(check.reason == "DNS serves a different DKIM key");
  CHECK(check.found == std::vector<std::string>{"v=DKIM1; k=ed25519; p=someoneelse"});
  CHECK(check.checked_at == t0 + 5);

  clock.now = t0 + 5 + RotationScheduler::kDnsCheckRefreshSeconds - 1;
  scheduler.run_round();
  CHECK(seen_elsewhere().checked_at == t0 + 5);  // the same finding: no write
  clock.now = t0 + 5 + RotationScheduler::kDnsCheckRefreshSeconds;
  scheduler.run_round();
  CHECK(seen_elsewhere().checked_at == clock.now);  // refreshed

  probe.publish("w.example", rotated->keys[0]);
  scheduler.run_round();
  CHECK(test::key_named(*store->domain("w.example"), "new")->state == KeyState::Active);
  CHECK(seen_elsewhere() == keystore::DnsCheck{});  // activation ends the wait
}

}  // namespace
}  // namespace dkr::lifecycle
