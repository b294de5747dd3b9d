#pragma once
// KeyStore backed by a directory: <root>/<domain>/<selector>.pem (0600) and
// <root>/<domain>/keys.json (the domain's selectors and their states).
//
// Durability: every file is written as temp + fsync + rename + fsync(dir). PEM files are written
// before the keys.json that references them, and a state transition is a single rename of
// keys.json, so a crash at any point leaves a consistent store. Orphan PEM files and temp files
// are ignored on load and removed by open().
//
// Several processes may share a directory (the relay and the `keys` CLI): writers hold an
// exclusive flock on <root>/.lock and re-read the domain from disk before changing it; loads hold
// a shared lock. Other processes see changes after reload() (SIGHUP or KeyStoreWatcher).
#include <array>
#include <atomic>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keystore/key_store.hpp"
#include "keystore/key_transfer.hpp"
#include "keystore/private_key_vault.hpp"

namespace dkr::keystore {

struct DomainMetadata;  // keys.json contents; internal
struct DomainEntry;     // one loaded domain; internal (domain_loader.hpp)
template <class Entry>
class DomainSnapshot;  // internal (domain_snapshot.hpp)

struct DirectoryKeyStoreOptions {
  std::filesystem::path path;
  // strftime fields (UTC), then {seq} = a, b, ..., z, aa, ab, ...: the first unused one.
  std::string selector_pattern = "s%Y%m{seq}";
  bool allow_weak_rsa = false;             // load/import RSA keys of 1024..2047 bits
  bool allow_group_readable_keys = false;  // refuse key files with any group/other permission
  std::function<std::int64_t()> clock;     // unix seconds; the system clock when empty
  // Makes, opens and destroys private keys; the key files hold what it stores. Null: store_vault().
  std::shared_ptr<PrivateKeyVault> vault;
  // Test hook, called after each durable step of a write ("pem-written", "metadata-written",
  // "pem-removed"), so tests can kill the process in the middle of a transition.
  std::function<void(std::string_view step)> write_step_hook;
};

struct KeyStoreStats {
  std::size_t domains = 0;
  std::size_t keys_by_state[4] = {};  // indexed by KeyState
};

// A domain whose files could not be loaded; it keeps its previous state (or stays absent).
struct LoadProblem {
  std::string domain;
  std::string file;
  std::string reason;
};
std::string to_string(const LoadProblem& problem);

class DirectoryKeyStore final : public KeyStore, public KeyTransfer {
 public:
  using Snapshot = DomainSnapshot<DomainEntry>;  // immutable

  // Creates the directory (0700) when missing. Domains with broken files are left out and listed
  // in problems(); open fails only when the directory itself is unusable.
  static Result<std::unique_ptr<DirectoryKeyStore>> open(const DirectoryKeyStoreOptions& options);
  ~DirectoryKeyStore() override;

  std::shared_ptr<const SigningSet> signer_for(std::string_view from_domain) const override;
  std::vector<DomainInfo> list() const override;
  Result<DomainInfo> domain(std::string_view domain) const override;

  Result<SelectorInfo> add_domain(std::string_view domain, const KeyParams& params) override;
  Result<void> remove_domain(std::string_view domain, bool force) override;
  Result<SelectorInfo> stage_key(std::string_view domain, const KeyParams& params) override;
  Result<ChangeOutcome> change_states(std::string_view domain, const std::vector<StateChange>& changes) override;
  Result<void> set_rotation_override(std::string_view domain, const RotationOverride& rotation) override;
  Result<bool> record_dns_check(std::string_view domain, std::string_view selector, const DnsCheck& check) override;
  Result<bool> record_publish_error(std::string_view domain, const PublishError& error) override;
  Result<void> reload() override;
  // Re-reads only these domains (what KeyStoreWatcher uses for changes inside domain folders).
  Result<void> reload_domains(const std::vector<std::string>& domains);

  // Stores a private key (PEM) under info.selector with info's state and timestamps; an active key
  // retires the domain's active key of its algorithm. The domain is created if needed.
  // `delegated`: the key's domain is a delegated domain (KeyMaterial::delegated); it stays one.
  Result<SelectorInfo> import_key(std::string_view domain, const SelectorInfo& info, std::string_view pem,
                                  bool delegated = false) override;
  // Every key with its private PEM, domains and selectors in order (keys export).
  Result<std::vector<KeyMaterial>> export_keys() const override;
  // Imports a private key file (PKCS#8 or traditional RSA PEM) as an active selector; the domain's
  // previous active key of the same algorithm moves to retiring. The domain is created if needed.
  Result<SelectorInfo> import_pem(std::string_view domain, std::string_view selector,
                                  const std::filesystem::path& pem_path);
  // import_opendkim_tables (key_transfer.hpp) into this store.
  Result<ImportReport> import_opendkim(const std::filesystem::path& key_table,
                                       const std::filesystem::path& signing_table);

  // open() parses each private key on its first use (OpenSSL 3 needs ~0.3 ms per key, too slow
  // for 100,000 domains at start-up); this parses all of them now and lists the keys that fail.
  // Run it in the background after open() to catch broken files early.
  std::vector<LoadProblem> check_keys() const;

  KeyStoreStats stats() const;
  std::vector<LoadProblem> problems() const;  // of the last open/reload
  const std::filesystem::path& path() const { return options_.path; }

 private:
  struct Transaction;  // one domain's planned change; defined in the implementation

  explicit DirectoryKeyStore(DirectoryKeyStoreOptions options);

  std::int64_t now() const;
  void step(std::string_view name) const;
  std::shared_ptr<const Snapshot> current() const;
  void publish(std::shared_ptr<const Snapshot> next);
  // With write_mutex_ and the exclusive store lock held: writes the transaction to disk in crash
  // safe order, then publishes the domain's new state.
  Result<void> commit(Transaction& transaction);
  // Loads these domains from disk and publishes them (write_mutex_ held); `written` is the
  // metadata commit() just wrote for the one domain given.
  Result<void> refresh(const std::vector<std::string>& domains, const DomainMetadata* written = nullptr);
  Result<std::optional<DomainMetadata>> metadata_on_disk(const std::string& domain) const;
  Result<void> reload_all(bool clean);
  // Applies a metadata-only change of one selector (its DNS check) under the locks; `apply` returns
  // whether anything changed and may list PEM files to delete.
  using SelectorTransition = std::function<Result<bool>(DomainMetadata&, const std::string& selector, std::int64_t now,
                                                        std::vector<std::string>& removed_keys)>;
  Result<void> transition(std::string_view domain, std::string_view selector, const SelectorTransition& apply);
  // Reads one domain (a normalized name) from disk under write_mutex_ and the exclusive store lock,
  // lets `change` edit the planned transaction, and commits it only when `change` says something
  // changed: every metadata-only write (a key's transition, the rotation override, the publishing
  // error) goes through here. not_found when the store has no such domain.
  Result<bool> update_domain(const std::string& name, const std::function<Result<bool>(Transaction&)>& change);

  DirectoryKeyStoreOptions options_;
  std::shared_ptr<const Snapshot> snapshot_;  // only through std::atomic_load / atomic_store
  mutable std::mutex write_mutex_;            // serialises writers and reloads in this process
  mutable std::mutex problems_mutex_;
  std::vector<LoadProblem> problems_;
};

}  // namespace dkr::keystore
