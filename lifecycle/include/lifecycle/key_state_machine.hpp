#pragma once
// The key lifecycle's rules, in this one place: where each action leads a key, what it refuses and
// why, and what else it changes (activating a key retires the same algorithm's active key). The
// stores only store (KeyStore::change_states); KeyLifecycle and the rotation scheduler read the
// domain, plan here, and write with compare-and-set, re-reading when another writer got there first.
#include <optional>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "keystore/key_store.hpp"

namespace dkr::lifecycle {

enum class KeyAction { Activate, Retire, Revoke, Remove };

// The table. True when `action` changes a key in `state`; false when the key is already where the
// action leads (activating an active key, retiring a retiring one, revoking a revoked one); else
// ErrorCode::conflict with why, naming the key as `key` ("selector 'a' of example.com").
Result<bool> lifecycle_step(KeyAction action, keystore::KeyState state, std::string_view key);

// The changes `action` on `selector` makes to `domain` as read: empty when the key is already so;
// not_found when the domain has no such key; conflict (why) when the table refuses.
Result<std::vector<keystore::StateChange>> plan_transition(const keystore::DomainInfo& domain,
                                                           std::string_view selector, KeyAction action);

// How often a transition re-reads and re-plans after a compare-and-set miss before it gives up
// (ErrorCode::conflict): each miss means another writer changed the domain in between.
inline constexpr int kTransitionAttempts = 5;

// Reads, plans and compare-and-sets `action` on one key. True when this call changed the key, false
// when it was already so. `only_from`: the scheduler's guard, so that a step decided from an old
// reading never runs twice: the step applies only while the key is in that state in the store (not
// merely in this replica's copy, which may lag), and a key gone or elsewhere is false, not an error.
Result<bool> apply_transition(keystore::KeyStore& store, std::string_view domain, std::string_view selector,
                              KeyAction action, std::optional<keystore::KeyState> only_from = std::nullopt);

}  // namespace dkr::lifecycle
