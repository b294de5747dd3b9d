#pragma once
// Which key signs for which domain, and the keys' stored states. The lifecycle's rules (which state
// may follow which) are lifecycle/'s; a store only stores, with compare-and-set (change_states).
// The relay and the admin API depend only on this interface, so that a shared backend
// (PostgreSQL, etcd) can be added beside the directory store without touching them.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "signer/algorithm.hpp"
#include "common/result.hpp"
#include "signer/signing_key.hpp"

namespace dkr::keystore {

enum class KeyState { Staged, Active, Retiring, Revoked };
std::string_view to_string(KeyState state);
std::optional<KeyState> parse_key_state(std::string_view text);

// What the rotation scheduler's last DNS check found for a staged key waiting for DNS, stored with
// the key so that every replica's API shows the leader's finding.
struct DnsCheck {
  std::string status;  // "pending" (nothing published yet) or "error" (another key, or the lookup failed)
  std::string reason;
  std::vector<std::string> found;  // the TXT values DNS served
  std::int64_t checked_at = 0;     // unix seconds; 0 = never checked
  bool operator==(const DnsCheck&) const = default;
};

// The last failure of the leader's publishing of a delegated domain's records (a DNS server failure or
// a record changed behind our back), stored with the domain so that every replica's API shows it.
// Empty (rcode "") once publishing works again.
struct PublishError {
  std::string error;          // one line, with the server's rcode
  std::string rcode;          // "REFUSED", "BADSIG", "transport", ...; "conflict" for a record changed behind our back
  std::int64_t at = 0;        // unix seconds
  std::int64_t retry_at = 0;  // failures: the next attempt (backoff); 0 for conflicts
  bool empty() const { return rcode.empty() && error.empty(); }
  bool operator==(const PublishError&) const = default;
};

// A domain's own rotation policy (`keys policy`, PUT /v1/domains/{d}/rotation), stored with the
// domain: each unset duration takes the global [rotation] value. The lifecycle validates and applies
// it (lifecycle/domain_policy.hpp); the stores only keep it.
struct RotationOverride {
  bool opt_out = false;                      // never rotated by schedule
  std::optional<std::int64_t> interval;      // seconds
  std::optional<std::int64_t> retire_after;  // seconds
  std::optional<std::int64_t> delete_after;  // seconds
  std::optional<std::int64_t> dns_timeout;   // seconds
  bool empty() const { return !opt_out && !interval && !retire_after && !delete_after && !dns_timeout; }
  bool operator==(const RotationOverride&) const = default;
};

struct SelectorInfo {
  std::string selector;
  signer::Algorithm algorithm = signer::Algorithm::RsaSha256;
  int bits = 2048;  // 256 for Ed25519
  KeyState state = KeyState::Staged;
  std::int64_t created_at = 0;  // unix seconds; 0 = never
  std::int64_t activated_at = 0;
  std::int64_t retired_at = 0;
  std::int64_t revoked_at = 0;
  bool activate_after_dns = false;  // staged key to activate once its DNS record is seen
  std::string dns_record;           // TXT value to publish ("v=DKIM1; k=rsa; p=..." or "v=DKIM1; p=")
  // Why the store refuses this key (a shared store's row whose record or key failed authentication
  // under the KEK); dns_record is then empty, so nobody is told to publish what the row claims.
  std::string refused;
  // The DNS selector the key is published under and signs with (s=). Empty: the key's own name
  // (`selector`), as for every non-delegated domain. A delegated domain has fixed slots (dkr1, dkr2)
  // that hold successive keys over time, so its keys keep unique names and name their slot here.
  std::string slot;
  DnsCheck dns_check{};  // staged keys waiting for DNS: the scheduler's last finding
};

// The DNS selector of a key: its slot for a delegated domain, else its name.
inline const std::string& dns_selector(const SelectorInfo& info) {
  return info.slot.empty() ? info.selector : info.slot;
}

struct DomainInfo {
  std::string domain;  // lowercase A-label
  std::vector<SelectorInfo> selectors;
  // Delegated selectors: the owner's CNAMEs point at our delegation zone, where we publish the keys.
  bool delegated = false;
  RotationOverride rotation{};   // empty: the global [rotation] policy
  PublishError publish_error{};  // delegated domains: the leader's last publishing failure; empty = none
};

// One active key of a domain, ready to sign.
struct ActiveKey {
  std::string selector;  // the DNS selector (s=): the key's slot for a delegated domain
  std::shared_ptr<const signer::SigningKey> key;
};

// What signs for a From: domain: the domain found in the store (the From domain itself or its nearest
// parent) and its active keys, at most one per algorithm. Immutable: a snapshot.
struct SigningSet {
  std::string domain;
  std::vector<ActiveKey> keys;
};

// One key's part of a compare-and-set write (KeyStore::change_states).
struct StateChange {
  std::string selector;
  KeyState from = KeyState::Staged;  // applied only while the key is still in this state
  std::optional<KeyState> to;        // unset: the key is deleted, with its private key
};

// What a compare-and-set write did. Stale: a key was no longer in its `from` state (or it or its
// domain is gone), so nothing was written; the store re-read that domain, so that a caller who reads
// it again plans from what is stored now.
enum class ChangeOutcome { Applied, Stale };

struct KeyParams {
  signer::Algorithm algorithm = signer::Algorithm::RsaSha256;
  int bits = 2048;
  std::optional<std::string> selector;  // generated from the configured pattern when unset
  bool activate_after_dns = false;
  // Guard for schedulers: refuse (ErrorCode::conflict) when the domain already holds a staged key
  // of this algorithm, checked inside the write, so two replicas cannot both stage a rotation.
  bool unless_staged = false;
  // Guard for schedulers: refuse (ErrorCode::conflict) unless this selector is still the domain's
  // active key of this algorithm, checked inside the write, so a replica whose reading predates the
  // activation of the successor does not stage another one.
  std::optional<std::string> replacing{};
  // Delegated domains: the DNS selector slot the key goes into (SelectorInfo::slot), and whether the
  // domain is (or becomes, when this key creates it) a delegated domain.
  std::optional<std::string> slot{};
  bool delegated = false;
};

class KeyStore {
 public:
  virtual ~KeyStore() = default;

  // Hot path. Never blocks on writers (reads an immutable snapshot). Case-insensitive; accepts
  // U-labels or A-labels; falls back to the nearest parent domain present. nullptr when no domain
  // in the chain has an active key.
  virtual std::shared_ptr<const SigningSet> signer_for(std::string_view from_domain) const = 0;

  virtual std::vector<DomainInfo> list() const = 0;
  virtual Result<DomainInfo> domain(std::string_view domain) const = 0;

  // Creates the domain with a first key, active at once (the operator publishes DNS first or
  // uses stage_key + activate for a DNS-checked start).
  virtual Result<SelectorInfo> add_domain(std::string_view domain, const KeyParams& params) = 0;
  // Removes the domain and its keys; refused while a key is active unless force.
  virtual Result<void> remove_domain(std::string_view domain, bool force) = 0;

  virtual Result<SelectorInfo> stage_key(std::string_view domain, const KeyParams& params) = 0;
  // Stores the key lifecycle's decisions (lifecycle/key_state_machine.hpp): all `changes` in one
  // write, applied only while every key is still in its `from` state (compare-and-set), else Stale
  // and nothing written. The store's clock stamps them: to Active sets activated_at (and clears
  // activate_after_dns and the DNS check), to Retiring retired_at, to Revoked revoked_at (and clears
  // the same). The store knows no lifecycle rule; it refuses (ErrorCode::conflict) only what it
  // cannot hold: two active keys of one algorithm. No changes: Applied, nothing written.
  virtual Result<ChangeOutcome> change_states(std::string_view domain, const std::vector<StateChange>& changes) = 0;

  // Replaces the domain's rotation override (an empty one: the global policy again), in one write.
  // The stores keep it; the lifecycle validates it first. This default refuses (test doubles).
  virtual Result<void> set_rotation_override(std::string_view domain, const RotationOverride& rotation);
  // Stores what the scheduler's DNS check found for a staged key. False (nothing written) when the
  // key is gone or no longer staged. This default refuses (test doubles).
  virtual Result<bool> record_dns_check(std::string_view domain, std::string_view selector, const DnsCheck& check);

  // Stores (or, with an empty one, clears) a delegated domain's last publishing failure. False (nothing
  // written) when the domain is gone or already holds `error`. This default refuses (test doubles).
  virtual Result<bool> record_publish_error(std::string_view domain, const PublishError& error);

  // Re-reads the backing store (SIGHUP / file change). Domains whose files are broken keep their
  // previous state and are reported in the error; others are updated.
  virtual Result<void> reload() = 0;
};

}  // namespace dkr::keystore
