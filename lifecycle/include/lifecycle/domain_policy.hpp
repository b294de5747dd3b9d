#pragma once
// A domain's own rotation policy: the global [rotation] policy with the domain's override applied
// (keystore::RotationOverride, stored with the domain), the rules every policy must respect, and
// the use case that changes it (`keys policy` and PUT /v1/domains/{d}/rotation both call it).
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "keystore/key_store.hpp"
#include "lifecycle/rotation_policy.hpp"

namespace dkr::lifecycle {

// What a policy must respect, from the config: the same rules config/ checks on [rotation].
struct PolicyLimits {
  std::chrono::seconds dns_ttl{300};        // verifiers may hold a record this long
  std::chrono::seconds check_interval{60};  // dns.check_interval: a step may wait this long
  bool allow_short_intervals = false;       // rotation.allow_short_intervals
};

// `global` with the override's fields in place of the global ones; opt_out stops scheduled rotation.
RotationPolicy effective_policy(const RotationPolicy& global, const keystore::RotationOverride& rotation);

// ErrorCode::invalid naming the field ("retire_after ...") when the policy cannot work:
// retire_after under dns_ttl + check_interval, interval under 1 day without allow_short_intervals.
Result<void> validate_policy(const RotationPolicy& policy, const PolicyLimits& limits);

// "90d", "72h", "30m", "45s" (a whole number and one unit), as in the config file.
std::optional<std::chrono::seconds> parse_policy_duration(std::string_view text);
std::string format_policy_duration(std::chrono::seconds duration);  // largest exact unit

// A change to a domain's override, as the CLI gives it: each set field replaces the stored one.
struct PolicyChange {
  std::optional<std::chrono::seconds> interval;
  std::optional<std::chrono::seconds> retire_after;
  std::optional<std::chrono::seconds> delete_after;
  std::optional<std::chrono::seconds> dns_timeout;
  std::optional<bool> opt_out;  // true: --opt-out, false: --opt-in
  bool reset = false;           // drop the whole override first (--reset)
};
keystore::RotationOverride apply_change(const keystore::RotationOverride& current, const PolicyChange& change);

// The use case: validates the domain's effective policy under `wanted` and stores `wanted` (the
// whole override replaces the stored one). Logs a `lifecycle audit:` line.
class DomainPolicy {
 public:
  DomainPolicy(keystore::KeyStore& store, RotationPolicy global, PolicyLimits limits)
      : store_(store), global_(global), limits_(limits) {}

  Result<keystore::RotationOverride> set(std::string_view domain, const keystore::RotationOverride& wanted);
  Result<keystore::RotationOverride> change(std::string_view domain, const PolicyChange& change);
  const RotationPolicy& global() const { return global_; }

 private:
  keystore::KeyStore& store_;
  RotationPolicy global_;
  PolicyLimits limits_;
};

// When the domain's next scheduled step is due: the earliest of its keys' timed steps (0: none).
struct DomainSchedule {
  KeyStep next_step = KeyStep::None;
  std::string selector;
  std::int64_t next_step_at = 0;
};
DomainSchedule next_domain_step(const keystore::DomainInfo& info, const RotationPolicy& policy, std::int64_t now);

}  // namespace dkr::lifecycle
