#pragma once
// The key lifecycle's use cases, in one place, over the key store: the `keys` CLI, the admin API and
// the rotation scheduler all call these, so they cannot disagree (which algorithm a rotation keeps,
// when a key may be activated, what an emergency rotation does).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "keystore/key_store.hpp"
#include "lifecycle/key_publication_probe.hpp"
#include "lifecycle/key_state_machine.hpp"

namespace dkr::lifecycle {

// Now: at once (the operator vouches for DNS). AfterDns: by the scheduler once DNS serves the key.
// Manual: staged until the operator activates it.
enum class Activation { Now, AfterDns, Manual };

struct RotateOptions {
  // Unset: every algorithm the domain signs with now (RSA and Ed25519 for dual signing), each with
  // its current key size. Set: only that algorithm.
  std::optional<signer::Algorithm> algorithm;
  std::optional<int> bits;              // for RSA keys; Ed25519 is always 256
  std::optional<std::string> selector;  // only when one key is rotated
  Activation activation = Activation::AfterDns;
  // Revokes the active keys at once (a leaked key) and stages successors that activate as soon as
  // DNS serves them; until then the domain has no active key and its mail follows relay.unsigned.
  bool emergency = false;
};

struct RotationOutcome {
  std::string domain;
  std::vector<keystore::SelectorInfo> keys;  // the new keys, as stored after the rotation
  std::vector<std::string> retiring;         // keys the new ones replaced (activation Now)
  std::vector<std::string> revoked;          // keys revoked by an emergency rotation
};

class KeyLifecycle {
 public:
  explicit KeyLifecycle(keystore::KeyStore& store) : store_(store) {}
  // `delegation_slots`: [dns.publish] selectors when publishing is configured (empty: delegated
  // domains cannot be added or rotated here).
  KeyLifecycle(keystore::KeyStore& store, std::vector<std::string> delegation_slots)
      : store_(store), slots_(std::move(delegation_slots)) {}

  keystore::KeyStore& store() const { return store_; }

  Result<keystore::SelectorInfo> add_domain(std::string_view domain, const keystore::KeyParams& params);
  // A delegated domain: its first key goes into the first slot, staged to activate once DNS serves
  // it through the owner's CNAME (until then the domain has no active key: relay.unsigned applies).
  Result<keystore::SelectorInfo> add_delegated_domain(std::string_view domain, keystore::KeyParams params,
                                                      std::int64_t now);
  Result<keystore::SelectorInfo> stage(std::string_view domain, const keystore::KeyParams& params);
  // The operator's explicit activation (`keys activate`, POST .../activate): forced, the operator
  // vouches for DNS. Activating a key already active is a no-op.
  Result<void> activate_forced(std::string_view domain, std::string_view selector);
  // Activates a staged key only when `probe` proves DNS serves it. True when this call activated
  // it; false when it is no longer staged; conflict naming what DNS served otherwise (and `seen`
  // holds the probe's answer either way).
  Result<bool> activate_if_proven(std::string_view domain, const keystore::SelectorInfo& key,
                                  KeyPublicationProbe& probe, ProbeResult* seen = nullptr);
  // The same with the probe's answer already in hand (the scheduler probes many keys at once).
  Result<bool> activate_on_proof(std::string_view domain, const keystore::SelectorInfo& key, const ProbeResult& seen);
  Result<void> retire(std::string_view domain, std::string_view selector);
  Result<void> revoke(std::string_view domain, std::string_view selector);
  Result<void> remove_key(std::string_view domain, std::string_view selector);
  Result<void> remove_domain(std::string_view domain, bool force);

  Result<RotationOutcome> rotate(std::string_view domain, const RotateOptions& options);

  // Asked before acting (the admin API answers 409 for a request that would change nothing): the
  // table itself (lifecycle_step). True when `action` changes `key` of `domain`; false when the key
  // is already where the action leads; ErrorCode::conflict with why when the lifecycle forbids it.
  static Result<bool> would_change(KeyAction action, const keystore::SelectorInfo& key, std::string_view domain);

  // The keys a rotation of `info` creates: one per algorithm it keeps, with its size (exposed for
  // tests and for the scheduler, which stages them one at a time).
  static Result<std::vector<keystore::KeyParams>> successor_params(const keystore::DomainInfo& info,
                                                                   const RotateOptions& options);

 private:
  keystore::KeyStore& store_;
  std::vector<std::string> slots_;
};

}  // namespace dkr::lifecycle
