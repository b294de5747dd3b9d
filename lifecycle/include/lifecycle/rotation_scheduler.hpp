#pragma once
// One round of the rotation schedule over every domain, decided from the stored state and its
// timestamps alone, each step a compare-and-set on the store (lifecycle::apply_transition over KeyStore::change_states,
// KeyParams::unless_staged): a step decided twice (two leaders for a moment, a clock jump, a round
// repeated after a crash) changes the store once. A leader that dies mid-step leaves nothing half
// done, since each step is one store write; the next round (here or on the successor) redoes
// whatever was not written.
//
// Steps, for each domain:
// - a staged key marked activate_after_dns is activated only when DNS serves its exact public key;
//   otherwise it stays staged and its DNS status (pending/error and why) is stored with the key, for
//   every replica's API; the round probes all such keys first, in parallel (bounded), then applies;
// - with the policy enabled: an active key older than interval, with no staged key of its
//   algorithm, gets a successor of the same algorithm and size, staged for activation after DNS;
//   a retiring key is revoked retire_after after it retired; a revoked key is deleted
//   delete_after after it was revoked.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "dns/record_publisher.hpp"
#include "keystore/key_store.hpp"
#include "lifecycle/delegated_slots.hpp"
#include "lifecycle/key_lifecycle.hpp"
#include "lifecycle/key_publication_probe.hpp"
#include "lifecycle/rotation_policy.hpp"

namespace dkr::lifecycle {

using Clock = std::function<std::int64_t()>;  // unix seconds
std::int64_t system_clock_seconds();

// Why a staged key waits: what the last DNS check found.
struct DnsWait {
  std::string status;  // "pending" (nothing published yet) or "error" (another key, or the lookup failed)
  std::string reason;
  std::vector<std::string> found;
  std::int64_t checked_at = 0;
};

// The last publishing problem of a delegated domain (a server failure or a record changed behind
// our back); gone once publishing works again. Also stored with the domain
// (keystore::PublishError, KeyStore::record_publish_error), which every replica's API reads.
struct PublishProblem {
  std::string error;  // one line, with the server's rcode
  std::string rcode;  // "REFUSED", "BADSIG", "transport", ...; "conflict" for a record changed behind our back
  std::int64_t at = 0;
  std::int64_t retry_at = 0;  // failures: the next attempt (backoff)
};

struct RoundReport {
  int staged = 0;
  int activated = 0;
  int revoked = 0;
  int deleted = 0;
  int waiting = 0;
  int failed = 0;
};

class RotationScheduler {
 public:
  RotationScheduler(keystore::KeyStore& store, KeyPublicationProbe& probe, RotationPolicy policy, Clock clock = {});

  // DNS probes of one round in flight at once (KeyPublicationProbe::probe_all).
  static constexpr std::size_t kDefaultParallelProbes = 64;
  void set_parallel_probes(std::size_t count) { parallel_probes_ = count == 0 ? 1 : count; }
  // A DNS finding unchanged since the stored one is written again (for its checked_at) only after
  // this long, so that waiting keys cost no store write per round.
  static constexpr std::int64_t kDnsCheckRefreshSeconds = 60;

  RoundReport run_round();

  const RotationPolicy& policy() const { return policy_; }
  std::int64_t now() const { return clock_(); }
  std::optional<DnsWait> dns_wait(const std::string& domain, const std::string& selector) const;
  std::uint64_t rotations_done() const { return done_.load(); }
  std::uint64_t rotations_failed() const { return failed_.load(); }

  // Delegated domains: publishes their keys' TXT records in `settings.zone` through `publisher`
  // (only this scheduler, which runs on the fleet's leader, publishes). Without it, delegated
  // domains are left alone (their staged keys wait).
  void enable_delegation(std::shared_ptr<dns::RecordPublisher> publisher, DelegationSettings settings);
  std::optional<PublishProblem> publish_problem(const std::string& domain) const;

 private:
  using Probed = std::vector<std::pair<const keystore::SelectorInfo*, ProbeResult>>;
  void run_domain(const keystore::DomainInfo& domain, const Probed& probed, std::int64_t now, RoundReport& report,
                  std::map<std::pair<std::string, std::string>, DnsWait>& waits);
  // Stores the finding for every replica's API (KeyStore::record_dns_check) when it changed.
  void record_dns_check(const std::string& domain, const keystore::SelectorInfo& key, const DnsWait& wait);

  // Delegated domains: false when publishing failed and this round must not go on with the domain.
  bool publish_slots(const keystore::DomainInfo& domain, std::int64_t now);
  bool publish_ok(const keystore::DomainInfo& info, const std::string& name, const dns::PublishResult& result,
                  std::int64_t now);
  bool note_publish_result(const std::string& domain, const std::string& name, const dns::PublishResult& result,
                           std::int64_t now);
  void store_publish_problem(const keystore::DomainInfo& info);
  bool in_backoff(const std::string& domain, std::int64_t now) const;

  keystore::KeyStore& store_;
  KeyLifecycle lifecycle_;
  std::shared_ptr<dns::RecordPublisher> publisher_;
  DelegationSettings delegation_;
  mutable std::mutex publish_mutex_;
  std::map<std::string, PublishProblem> problems_;
  std::map<std::string, int> publish_failures_;
  std::set<std::string> warned_unpublished_;  // delegated domains seen without a publisher (warned once)
  KeyPublicationProbe& probe_;
  RotationPolicy policy_;
  Clock clock_;
  std::size_t parallel_probes_ = kDefaultParallelProbes;
  mutable std::mutex waits_mutex_;
  std::map<std::pair<std::string, std::string>, DnsWait> waits_;
  std::atomic<std::uint64_t> done_{0};
  std::atomic<std::uint64_t> failed_{0};
};

// dkim_relay_rotations_total{result}, dkim_relay_keys_past_interval,
// dkim_relay_oldest_active_key_age_seconds, dkim_relay_keys_waiting_for_dns and
// dkim_relay_keys_dns_timeout, as Prometheus text; without a domain label (bounded). The gauges
// come from the store (the same on every replica), the counter from this replica's rounds.
std::string render_rotation_metrics(const std::vector<keystore::DomainInfo>& domains, const RotationPolicy& policy,
                                    std::int64_t now, std::uint64_t done, std::uint64_t failed);

}  // namespace dkr::lifecycle
