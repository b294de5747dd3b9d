#include "lifecycle/key_state_machine.hpp"

#include <string>

#include "keystore/domain_name.hpp"

namespace dkr::lifecycle {

using keystore::KeyState;
using keystore::StateChange;

Result<bool> lifecycle_step(KeyAction action, KeyState state, std::string_view key) {
  const auto refused = [&](std::string_view why) {
    return make_error(ErrorCode::conflict, std::string(key) + " " + std::string(why));
  };
  switch (action) {
    case KeyAction::Activate:
      if (state == KeyState::Revoked) return refused("is revoked and cannot be activated again; stage a new key");
      return state != KeyState::Active;
    case KeyAction::Retire:
      if (state == KeyState::Staged) return refused("is staged and was never active; revoke or remove it instead");
      if (state == KeyState::Revoked) return refused("is already revoked");
      return state != KeyState::Retiring;
    case KeyAction::Revoke:
      if (state == KeyState::Active) {
        return refused("is active; retire it first, and revoke it once mail signed with it has been delivered");
      }
      return state != KeyState::Revoked;
    case KeyAction::Remove:
      if (state == KeyState::Active) return refused("is active; activate another key or retire it before removing it");
      return true;
  }
  return true;
}

Result<std::vector<StateChange>> plan_transition(const keystore::DomainInfo& domain, std::string_view selector,
                                                 KeyAction action) {
  const keystore::SelectorInfo* key = nullptr;
  for (const auto& candidate : domain.selectors) {
    if (candidate.selector == selector) key = &candidate;
  }
  if (key == nullptr) {
    return make_error(ErrorCode::not_found, "no selector '" + std::string(selector) + "' in domain " + domain.domain);
  }
  auto step = lifecycle_step(action, key->state, "selector '" + key->selector + "' of " + domain.domain);
  if (!step) return step.error();
  std::vector<StateChange> changes;
  if (!*step) return changes;
  switch (action) {
    case KeyAction::Activate:
      // One signing key per algorithm: the one it replaces keeps being published, retiring.
      for (const auto& other : domain.selectors) {
        if (other.state == KeyState::Active && other.algorithm == key->algorithm && other.selector != key->selector) {
          changes.push_back({other.selector, KeyState::Active, KeyState::Retiring});
        }
      }
      changes.push_back({key->selector, key->state, KeyState::Active});
      break;
    case KeyAction::Retire:
      changes.push_back({key->selector, key->state, KeyState::Retiring});
      break;
    case KeyAction::Revoke:
      changes.push_back({key->selector, key->state, KeyState::Revoked});
      break;
    case KeyAction::Remove:
      changes.push_back({key->selector, key->state, std::nullopt});
      break;
  }
  return changes;
}

Result<bool> apply_transition(keystore::KeyStore& store, std::string_view domain, std::string_view selector,
                              KeyAction action, std::optional<KeyState> only_from) {
  auto wanted = keystore::normalize_selector(selector);
  if (!wanted) return wanted.error();
  for (int attempt = 0; attempt < kTransitionAttempts; ++attempt) {
    auto info = store.domain(domain);
    if (!info) {
      if (only_from && info.error().code == ErrorCode::not_found) return false;
      return info.error();
    }
    if (only_from) {
      keystore::SelectorInfo* key = nullptr;
      for (auto& candidate : info->selectors) {
        if (candidate.selector == *wanted) key = &candidate;
      }
      if (key == nullptr) return false;
      if (key->state != *only_from) {
        // The caller decided from its own reading, which may be newer than this replica's copy:
        // try it once as read (the compare-and-set is the judge); after a miss the copy is current.
        if (attempt > 0) return false;
        key->state = *only_from;
      }
    }
    auto changes = plan_transition(*info, *wanted, action);
    if (!changes) return changes.error();
    if (changes->empty()) return false;
    auto written = store.change_states(info->domain, *changes);
    if (!written) return written.error();
    if (*written == keystore::ChangeOutcome::Applied) return true;
    // Stale: another writer changed the domain since it was read; the store re-read it, so plan again.
  }
  return make_error(ErrorCode::conflict, "domain " + std::string(domain) + " kept changing while selector '" + *wanted +
                                             "' was being changed; try again");
}

}  // namespace dkr::lifecycle
