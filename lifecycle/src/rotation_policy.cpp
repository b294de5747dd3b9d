#include "lifecycle/rotation_policy.hpp"

namespace dkr::lifecycle {

std::string_view to_string(KeyStep step) {
  switch (step) {
    case KeyStep::None:
      return "none";
    case KeyStep::ActivateWhenDnsServesIt:
      return "activate_when_dns_serves_it";
    case KeyStep::Rotate:
      return "rotate";
    case KeyStep::Revoke:
      return "revoke";
    case KeyStep::Delete:
      return "delete";
  }
  return "none";
}

KeySchedule schedule_of(const keystore::SelectorInfo& key, const RotationPolicy& policy, std::int64_t now) {
  KeySchedule s;
  s.age_seconds = key.created_at > 0 && now > key.created_at ? now - key.created_at : 0;
  switch (key.state) {
    case keystore::KeyState::Staged:
      if (key.activate_after_dns) {
        s.next_step = KeyStep::ActivateWhenDnsServesIt;
        s.dns_timeout = key.created_at > 0 && now >= key.created_at + policy.dns_timeout.count();
      }
      s.safe_to_remove_from_dns = true;  // nothing was ever signed with it
      break;
    case keystore::KeyState::Active:
      if (policy.opted_out) break;  // no interval: never replaced by schedule
      s.past_interval = key.activated_at > 0 && now >= key.activated_at + policy.interval.count();
      if (policy.enabled) {
        s.next_step = KeyStep::Rotate;
        s.next_step_at = key.activated_at + policy.interval.count();
      }
      break;
    case keystore::KeyState::Retiring:
      if (policy.enabled) {
        s.next_step = KeyStep::Revoke;
        s.next_step_at = key.retired_at + policy.retire_after.count();
      }
      break;
    case keystore::KeyState::Revoked:
      s.safe_to_remove_from_dns = true;
      if (policy.enabled) {
        s.next_step = KeyStep::Delete;
        s.next_step_at = key.revoked_at + policy.delete_after.count();
      }
      break;
  }
  return s;
}

}  // namespace dkr::lifecycle
