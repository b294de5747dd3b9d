#pragma once
// KeyStore shared by a fleet of relays through PostgreSQL.
//
// Reads never touch the database: like the directory store, lookups read an immutable snapshot.
// One keystore thread per process owns a connection that LISTENs for changes, reloads only the
// domains named by a notification, resyncs everything every poll_interval and after each reconnect
// (notifications sent while disconnected are lost), and reconnects with exponential backoff and
// jitter. libpq is blocking; a dedicated thread keeps it away from the SMTP and admin I/O threads.
//
// Writes (admin worker thread, CLI) use a second connection. Each lifecycle transition is one SQL
// transaction guarded by the domain's row version (optimistic concurrency: a replica that read an
// older version gets ErrorCode::conflict, i.e. 409) and a unique index that allows one active key
// per domain and algorithm. Every write sends NOTIFY. While the database is unreachable, writes
// fail with ErrorCode::unavailable (503) and signing continues from the snapshot.
//
// Private keys are stored sealed with AES-256-GCM under the KEK (see key_envelope.hpp).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "keystore/directory_key_store.hpp"
#include "keystore/key_envelope.hpp"
#include "keystore/key_store.hpp"
#include "keystore/key_transfer.hpp"
#include "keystore/private_key_vault.hpp"

namespace dkr::keystore {

inline constexpr int kPostgresSchemaVersion = 4;

class PgConnection;  // pg_connection.hpp; internal
struct PgDomain;     // one loaded domain; internal

struct PostgresKeyStoreOptions {
  std::string dsn;  // libpq connection string or URI
  std::string schema = "dkim_relay";
  std::chrono::milliseconds poll_interval{30000};
  std::string selector_pattern = "s%Y%m{seq}";
  bool allow_weak_rsa = false;
  bool watch = true;                    // run the keystore thread (serve); the CLI does not
  std::function<std::int64_t()> clock;  // unix seconds; the system clock when empty
  // Makes, opens and destroys private keys; the rows hold what it stores (sealed under the KEK).
  // Null: store_vault().
  std::shared_ptr<PrivateKeyVault> vault;
  // Test hook, called inside a write transaction after the domain was read and before it is
  // written, so tests can interleave two replicas deterministically.
  std::function<void(std::string_view domain)> before_write_hook;
};

// Applies the schema migrations this build knows, idempotently, in one transaction; returns the
// schema version now in the database.
Result<int> migrate_postgres_schema(const std::string& dsn, const std::string& schema);

// Re-encrypts every private key from `old_kek` to `new_kek` in one transaction; returns how many.
Result<std::size_t> rewrap_postgres_keys(const std::string& dsn, const std::string& schema, const Kek& old_kek,
                                         const Kek& new_kek);

class PostgresKeyStore final : public KeyStore, public KeyTransfer {
 public:
  using Snapshot = DomainSnapshot<PgDomain>;  // immutable
  struct Sync;                                // the keystore thread's state

  // Connects, checks the schema version (refused when older or newer than this build), loads
  // every domain and, with options.watch, starts the keystore thread. Refused when keys exist and
  // none decrypts with `kek` (a wrong KEK), naming the first key that failed.
  static Result<std::unique_ptr<PostgresKeyStore>> open(const PostgresKeyStoreOptions& options, Kek kek);
  ~PostgresKeyStore() override;

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
  // Asks the keystore thread for a full resync (without it: resyncs now on the caller's thread).
  Result<void> reload() override;

  // Stores a private key (PEM) under `selector`; `state` Active retires the previous active key of
  // its algorithm in the same transaction. Used by import-pem and import from another store.
  // `delegated`: the key's domain is a delegated domain (KeyMaterial::delegated); it stays one.
  Result<SelectorInfo> import_key(std::string_view domain, const SelectorInfo& info, std::string_view pem,
                                  bool delegated = false) override;
  // Every key with its private PEM, opened with the KEK, domains and selectors in order (keys
  // export); refused at the first key that does not decrypt, naming it.
  Result<std::vector<KeyMaterial>> export_keys() const override;

  // The first full load is done (always true after open()).
  bool ready() const { return true; }
  bool connected() const;
  // Seconds since the snapshot was last known to match the database: 0 while the keystore thread
  // is connected and listening.
  double staleness_seconds() const;
  // True while this replica holds the fleet's advisory lock for once-per-fleet periodic jobs.
  bool runs_periodic_jobs() const;
  // dkim_relay_keystore_connected and dkim_relay_keystore_staleness_seconds, Prometheus text.
  std::string render_metrics() const;
  std::vector<LoadProblem> problems() const;
  KeyStoreStats stats() const;

 private:
  struct WriteContext;
  using Plan = std::function<Result<bool>(WriteContext&)>;

  PostgresKeyStore(PostgresKeyStoreOptions options, Kek kek);
  std::int64_t now() const;
  std::shared_ptr<const Snapshot> current() const;
  // `raced`, when given, is set when another writer committed the domain first (the conflict error).
  Result<void> write(const std::string& domain, const Plan& plan, bool* raced = nullptr);
  Result<void> write_rotation_and_checks(const WriteContext& context);
  // Loads one domain through `conn` into the snapshot (after a write, or a compare-and-set miss).
  void reread(PgConnection& conn, const std::string& domain);
  void run_sync();

  PostgresKeyStoreOptions options_;
  Kek kek_;
  std::string channel_;
  std::shared_ptr<const Snapshot> snapshot_;  // only through std::atomic_load / atomic_store
  mutable std::mutex publish_mutex_;
  mutable std::mutex write_mutex_;  // serialises this process's writers on the write connection
  std::unique_ptr<PgConnection> write_conn_;
  mutable std::mutex problems_mutex_;
  std::vector<LoadProblem> problems_;
  std::atomic<bool> connected_{false};
  std::atomic<bool> fleet_lock_{false};
  std::atomic<std::int64_t> stale_since_ms_{0};  // steady clock; 0 while in sync
  std::unique_ptr<Sync> sync_;
  std::thread thread_;
};

}  // namespace dkr::keystore
