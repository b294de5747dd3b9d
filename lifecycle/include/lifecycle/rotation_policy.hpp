#pragma once
// When each key moves on: the [rotation] policy and, for one key, its next scheduled step.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "keystore/key_store.hpp"

namespace dkr::lifecycle {

struct RotationPolicy {
  bool enabled = false;                           // scheduled rotation; after-DNS activation runs anyway
  std::chrono::seconds interval{90 * 86400};      // active key replaced this long after activation
  std::chrono::seconds retire_after{7 * 86400};   // replaced key stays published, retiring
  std::chrono::seconds delete_after{30 * 86400};  // then revoked (p= empty) this long, then deleted
  std::chrono::seconds dns_timeout{72 * 3600};    // staged key not seen in DNS by then: alert
  // The domain opted out of scheduled rotation (lifecycle/domain_policy.hpp): its active key is never
  // replaced by schedule; staged keys still activate on DNS proof, retiring and revoked keys still
  // move on at retire_after / delete_after.
  bool opted_out = false;
};

enum class KeyStep { None, ActivateWhenDnsServesIt, Rotate, Revoke, Delete };
std::string_view to_string(KeyStep step);

struct KeySchedule {
  std::int64_t age_seconds = 0;  // since creation
  KeyStep next_step = KeyStep::None;
  std::int64_t next_step_at = 0;  // unix seconds; 0 = not on a timer (DNS decides, or nothing is due)
  // Postmark-style: mail no longer needs this key's record (revoked, or a staged key that never
  // signed); the record may go (the scheduler deletes it after delete_after anyway).
  bool safe_to_remove_from_dns = false;
  bool past_interval = false;  // an active key older than interval
  bool dns_timeout = false;    // a staged key waiting for DNS longer than dns_timeout
};

KeySchedule schedule_of(const keystore::SelectorInfo& key, const RotationPolicy& policy, std::int64_t now);

}  // namespace dkr::lifecycle
