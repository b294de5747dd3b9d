#include "lifecycle/rotation_scheduler.hpp"

#include <algorithm>
#include <chrono>

#include <spdlog/spdlog.h>

#include "common/prometheus_text.hpp"
#include "dns/delegation_status.hpp"
#include "lifecycle/domain_policy.hpp"
#include "lifecycle/key_state_machine.hpp"

namespace dkr::lifecycle {
namespace {

using keystore::KeyState;

}  // namespace

std::int64_t system_clock_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

RotationScheduler::RotationScheduler(keystore::KeyStore& store, KeyPublicationProbe& probe, RotationPolicy policy,
                                     Clock clock)
    : store_(store),
      lifecycle_(store),
      probe_(probe),
      policy_(policy),
      clock_(clock ? std::move(clock) : Clock(system_clock_seconds)) {}

void RotationScheduler::enable_delegation(std::shared_ptr<dns::RecordPublisher> publisher,
                                          DelegationSettings settings) {
  publisher_ = std::move(publisher);
  delegation_ = std::move(settings);
}

std::optional<PublishProblem> RotationScheduler::publish_problem(const std::string& domain) const {
  std::lock_guard lock(publish_mutex_);
  const auto found = problems_.find(domain);
  if (found == problems_.end()) return std::nullopt;
  return found->second;
}

bool RotationScheduler::in_backoff(const std::string& domain, std::int64_t now) const {
  std::lock_guard lock(publish_mutex_);
  const auto found = problems_.find(domain);
  return found != problems_.end() && found->second.retry_at > now;
}

bool RotationScheduler::publish_ok(const keystore::DomainInfo& info, const std::string& name,
                                   const dns::PublishResult& result, std::int64_t now) {
  const bool ok = note_publish_result(info.domain, name, result, now);
  store_publish_problem(info);
  return ok;
}

// Every replica's API shows the stored problem: written when it changed, cleared once publishing works
// (also one a previous leader left behind). A failed write is logged; the next result tries again.
void RotationScheduler::store_publish_problem(const keystore::DomainInfo& info) {
  keystore::PublishError error;
  if (auto problem = publish_problem(info.domain)) {
    error = {problem->error, problem->rcode, problem->at, problem->retry_at};
  } else if (info.publish_error.empty()) {
    return;  // nothing stored, nothing to store: no write per round
  }
  if (auto stored = store_.record_publish_error(info.domain, error); !stored) {
    spdlog::warn("lifecycle: storing the publishing state of {} failed: {}", info.domain, stored.error().message);
  }
}

bool RotationScheduler::note_publish_result(const std::string& domain, const std::string& name,
                                            const dns::PublishResult& result, std::int64_t now) {
  std::lock_guard lock(publish_mutex_);
  if (result.ok()) {
    if (result.outcome == dns::PublishResult::Outcome::Changed)
      spdlog::info("lifecycle audit: dns publish for {}: {}", domain, dns::describe(result));
    publish_failures_.erase(domain);
    problems_.erase(domain);
    return true;
  }
  PublishProblem problem;
  problem.at = now;
  if (result.outcome == dns::PublishResult::Outcome::Conflict) {
    // Changed behind our back: reported, never overwritten; looked at again next round.
    problem.rcode = "conflict";
    problem.error = name + ": " + dns::describe(result);
    spdlog::error("lifecycle: dns publish for {} refused to overwrite {}: {}", domain, name, dns::describe(result));
  } else {
    const int failures = ++publish_failures_[domain];
    const std::int64_t backoff = std::min<std::int64_t>(60, std::int64_t{1} << std::min(failures - 1, 6));
    problem.rcode = result.rcode;
    problem.retry_at = now + backoff;
    problem.error = name + ": " + dns::describe(result) + " (rcode " + result.rcode + ")";
    spdlog::error("lifecycle: dns publish for {} failed (rcode {}): {}; retry in {}s", domain, result.rcode,
                  dns::describe(result), backoff);
  }
  problems_[domain] = std::move(problem);
  return false;
}

bool RotationScheduler::publish_slots(const keystore::DomainInfo& domain, std::int64_t now) {
  if (in_backoff(domain.domain, now)) return false;
  for (const auto& slot : delegation_.slots) {
    const keystore::SelectorInfo* key = slot_holder(domain, slot);
    if (key == nullptr || key->state != KeyState::Staged || key->dns_record.empty()) continue;
    // A staged key goes out into its slot, replacing the revoked record of the slot's previous key.
    const std::string name = dns::delegated_record_name(slot, domain.domain, delegation_.zone);
    dns::PublishResult result = publisher_->publish(name, key->dns_record);
    if (result.outcome == dns::PublishResult::Outcome::Conflict && result.found.size() == 1 &&
        result.found.front() == dns::kRevokedRecord)
      result = publisher_->replace(name, dns::kRevokedRecord, key->dns_record);
    if (!publish_ok(domain, name, result, now)) return false;
  }
  return true;
}

std::optional<DnsWait> RotationScheduler::dns_wait(const std::string& domain, const std::string& selector) const {
  std::lock_guard lock(waits_mutex_);
  const auto found = waits_.find({domain, selector});
  if (found == waits_.end()) return std::nullopt;
  return found->second;
}

RoundReport RotationScheduler::run_round() {
  RoundReport report;
  const std::int64_t now = clock_();
  const std::vector<keystore::DomainInfo> domains = store_.list();

  // Every staged key waiting for DNS, probed at once (bounded), before any step is applied.
  std::vector<ProbeRequest> requests;
  std::vector<std::pair<std::size_t, const keystore::SelectorInfo*>> owners;
  for (std::size_t d = 0; d < domains.size(); ++d) {
    for (const auto& key : domains[d].selectors) {
      if (key.state != KeyState::Staged || !key.activate_after_dns) continue;
      requests.push_back({domains[d].domain, keystore::dns_selector(key), key.dns_record});
      owners.emplace_back(d, &key);
    }
  }
  std::vector<ProbeResult> results =
      requests.empty() ? std::vector<ProbeResult>() : probe_.probe_all(requests, parallel_probes_);
  results.resize(requests.size());  // a probe double answering short: the rest count as failed lookups
  std::vector<Probed> probed(domains.size());
  for (std::size_t i = 0; i < owners.size(); ++i) {
    probed[owners[i].first].emplace_back(owners[i].second, std::move(results[i]));
  }

  std::map<std::pair<std::string, std::string>, DnsWait> waits;
  for (std::size_t d = 0; d < domains.size(); ++d) run_domain(domains[d], probed[d], now, report, waits);
  std::lock_guard lock(waits_mutex_);
  waits_ = std::move(waits);
  return report;
}

void RotationScheduler::record_dns_check(const std::string& domain, const keystore::SelectorInfo& key,
                                         const DnsWait& wait) {
  keystore::DnsCheck check{wait.status, wait.reason, wait.found, wait.checked_at};
  keystore::DnsCheck previous = key.dns_check;
  previous.checked_at = check.checked_at;
  if (previous == check && wait.checked_at < key.dns_check.checked_at + kDnsCheckRefreshSeconds) return;
  auto recorded = store_.record_dns_check(domain, key.selector, check);
  if (!recorded) {
    spdlog::debug("lifecycle: DNS status of {} of {} not stored: {}", key.selector, domain, recorded.error().message);
  }
}

void RotationScheduler::run_domain(const keystore::DomainInfo& domain, const Probed& probed, std::int64_t now,
                                   RoundReport& report, std::map<std::pair<std::string, std::string>, DnsWait>& waits) {
  const std::string& name = domain.domain;
  auto failed = [&](std::string_view step, const std::string& selector, const Error& error) {
    // conflict: another replica or an operator changed the domain first; the next round re-decides.
    if (error.code == ErrorCode::conflict) {
      spdlog::debug("lifecycle: {} {} of {} skipped: {}", step, selector, name, error.message);
      return;
    }
    ++report.failed;
    spdlog::warn("lifecycle: {} {} of {} failed, retried next round: {}", step, selector, name, error.message);
  };

  const bool delegated = domain.delegated && publisher_ != nullptr;
  if (domain.delegated && publisher_ == nullptr && warned_unpublished_.insert(name).second) {
    spdlog::warn("lifecycle: {} is delegated but [dns.publish] is off on this relay: its keys are not published", name);
  }
  if (delegated) (void)publish_slots(domain, now);

  // 1. Staged keys waiting for DNS: activation on proof only.
  for (const auto& [key_pointer, seen] : probed) {
    const keystore::SelectorInfo& key = *key_pointer;
    auto activated = lifecycle_.activate_on_proof(name, key, seen);
    if (seen.outcome != ProbeResult::Outcome::Proven) {
      ++report.waiting;
      DnsWait wait;
      wait.status = seen.outcome == ProbeResult::Outcome::Missing ? "pending" : "error";
      wait.reason = seen.detail;
      wait.found = seen.found;
      wait.checked_at = now;
      spdlog::info("lifecycle: {} of {} stays staged: DNS {}: {}", key.selector, name, to_string(seen.outcome),
                   seen.detail);
      record_dns_check(name, key, wait);
      waits[{name, key.selector}] = std::move(wait);
      continue;
    }
    if (!activated) {
      ++failed_;
      failed("activate", key.selector, activated.error());
      continue;
    }
    if (*activated) {
      ++report.activated;
      ++done_;
    }
  }
  // The domain's own policy: the global one with its override (interval, retire_after, ...).
  const RotationPolicy policy = effective_policy(policy_, domain.rotation);
  if (!policy.enabled) return;

  // 2. Rotation due: per algorithm, the active key past interval and no successor staged; never for
  // a domain that opted out.
  for (const auto& key : domain.selectors) {
    if (policy.opted_out) break;
    if (key.state != KeyState::Active || key.activated_at + policy.interval.count() > now) continue;
    bool successor = false;
    for (const auto& other : domain.selectors) {
      successor = successor || (other.state == KeyState::Staged && other.algorithm == key.algorithm);
    }
    if (successor) continue;
    // Re-read just before staging: another leader may have activated this key's successor since this
    // round's reading. The store's `replacing` guard refuses that stage anyway; this spares the key
    // generation.
    if (auto fresh = store_.domain(name); fresh) {
      const auto now_key = std::find_if(fresh->selectors.begin(), fresh->selectors.end(),
                                        [&](const keystore::SelectorInfo& k) { return k.selector == key.selector; });
      if (now_key == fresh->selectors.end() || now_key->state != KeyState::Active ||
          now_key->activated_at != key.activated_at)
        continue;
    }
    keystore::KeyParams params;
    params.algorithm = key.algorithm;
    params.bits = key.bits;
    params.activate_after_dns = true;
    params.unless_staged = true;      // the guards: a second leader's identical decision is refused,
    params.replacing = key.selector;  // also when its reading predates the successor's activation
    if (domain.delegated) {
      if (!delegated) continue;
      // Into the idle slot (never the active key's): the new key's record goes out there.
      const auto slot = idle_slot(domain, delegation_.slots);
      if (!slot) continue;
      params.slot = *slot;
      params.selector = delegated_key_name(domain, *slot, now);
    }
    auto staged = store_.stage_key(name, params);
    if (!staged) {
      if (staged.error().code != ErrorCode::conflict) ++failed_;
      failed("rotate", key.selector, staged.error());
      continue;
    }
    ++report.staged;
    spdlog::info(
        "lifecycle audit: rotation of {}: staged {} key {} to replace {} (active since {}); publish {}._domainkey.{} "
        "TXT \"{}\"",
        name, signer::to_string(staged->algorithm), staged->selector, key.selector, key.activated_at,
        keystore::dns_selector(*staged), name, staged->dns_record);
    if (delegated) {
      if (auto fresh = store_.domain(name)) (void)publish_slots(*fresh, now);
    }
  }

  // 3. Retiring -> revoked -> deleted.
  for (const auto& key : domain.selectors) {
    if (key.state == KeyState::Retiring && key.retired_at + policy.retire_after.count() <= now) {
      if (delegated && !key.slot.empty()) {
        // The record is revoked in DNS first; the key is revoked in the store once it is (a failure
        // retries next round). A record changed behind our back is reported, and the key revoked.
        if (in_backoff(name, now)) continue;
        const std::string record = dns::delegated_record_name(key.slot, name, delegation_.zone);
        const dns::PublishResult result = publisher_->revoke(record, key.dns_record);
        if (!publish_ok(domain, record, result, now) && result.outcome == dns::PublishResult::Outcome::Failed) continue;
      }
      auto changed = apply_transition(store_, name, key.selector, KeyAction::Revoke, KeyState::Retiring);
      if (!changed) {
        failed("revoke", key.selector, changed.error());
      } else if (*changed) {
        ++report.revoked;
        spdlog::info("lifecycle audit: revoked {} of {} (retiring since {}); its record now is \"v=DKIM1; p=\"",
                     key.selector, name, key.retired_at);
      }
    } else if (key.state == KeyState::Revoked && key.revoked_at + policy.delete_after.count() <= now) {
      auto changed = apply_transition(store_, name, key.selector, KeyAction::Remove, KeyState::Revoked);
      if (!changed) {
        failed("delete", key.selector, changed.error());
      } else if (*changed) {
        ++report.deleted;
        spdlog::info("lifecycle audit: deleted {} of {} (revoked since {}); remove {}._domainkey.{} from DNS",
                     key.selector, name, key.revoked_at, key.selector, name);
      }
    }
  }
}

std::string render_rotation_metrics(const std::vector<keystore::DomainInfo>& domains, const RotationPolicy& policy,
                                    std::int64_t now, std::uint64_t done, std::uint64_t failed) {
  std::uint64_t past_interval = 0;
  std::uint64_t waiting = 0;
  std::uint64_t timed_out = 0;
  std::int64_t oldest = 0;
  for (const auto& domain : domains) {
    const RotationPolicy effective = effective_policy(policy, domain.rotation);
    for (const auto& key : domain.selectors) {
      const KeySchedule s = schedule_of(key, effective, now);
      if (key.state == KeyState::Active && key.activated_at > 0 && now > key.activated_at) {
        oldest = std::max(oldest, now - key.activated_at);
      }
      past_interval += s.past_interval ? 1 : 0;
      waiting += key.state == KeyState::Staged && key.activate_after_dns ? 1 : 0;
      timed_out += s.dns_timeout ? 1 : 0;
    }
  }
  PrometheusText out;
  out.family("dkim_relay_rotations_total", "counter",
             "Key rotations completed (new key activated after DNS proof) or failed by this replica's scheduler.");
  out.sample("dkim_relay_rotations_total", {{"result", "done"}}, done);
  out.sample("dkim_relay_rotations_total", {{"result", "failed"}}, failed);
  out.family("dkim_relay_keys_past_interval", "gauge", "Active keys older than rotation.interval.");
  out.sample("dkim_relay_keys_past_interval", {}, past_interval);
  out.family("dkim_relay_oldest_active_key_age_seconds", "gauge", "Age of the oldest active key since its activation.");
  out.sample_signed("dkim_relay_oldest_active_key_age_seconds", {}, oldest);
  out.family("dkim_relay_keys_waiting_for_dns", "gauge", "Staged keys that activate once DNS serves them.");
  out.sample("dkim_relay_keys_waiting_for_dns", {}, waiting);
  out.family("dkim_relay_keys_dns_timeout", "gauge", "Staged keys not seen in DNS within rotation.dns_timeout.");
  out.sample("dkim_relay_keys_dns_timeout", {}, timed_out);
  return std::move(out).text();
}

}  // namespace dkr::lifecycle
