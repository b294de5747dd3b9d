#pragma once
// The keystore as the app opens it: one Storage, whichever backend holds the keys, with what only
// some backends have behind small capability interfaces, so that nothing above keystore/ branches on
// the backend. keystore::open chooses the adapter; the implementations are in src/storage_impl.*.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "keystore/directory_key_store.hpp"
#include "keystore/key_envelope.hpp"
#include "keystore/key_store.hpp"
#include "keystore/key_store_watcher.hpp"
#include "keystore/key_transfer.hpp"
#include "keystore/postgres_key_store.hpp"

namespace dkr::keystore {

// A store that a fleet of replicas shares (PostgreSQL): what /readyz and /metrics show of it.
class StoreFleet {
 public:
  virtual ~StoreFleet() = default;
  // The first full load is done.
  virtual bool ready() const = 0;
  // True while this replica holds the fleet's lock for once-per-fleet periodic jobs.
  virtual bool runs_periodic_jobs() const = 0;
  // The store's own Prometheus text (connection, staleness).
  virtual std::string render_metrics() const = 0;
};

class Storage {
 public:
  virtual ~Storage() = default;

  // The keys: the relay, the admin API and the lifecycle see only this.
  virtual std::shared_ptr<KeyStore> keys() const = 0;
  // For the start banner: the directory, or "postgres, schema NAME".
  virtual const std::string& description() const = 0;
  // keys export / import / import-pem.
  virtual KeyTransfer& transfer() = 0;
  // What the store refused or could not load (domains with broken files, rows that fail
  // authentication under the KEK); the other domains still sign.
  virtual std::vector<LoadProblem> problems() const = 0;
  // Null unless replicas share this store. A store no other replica reads may be seeded at first start
  // (the demo domain); a fleet member must never add a key nobody published.
  virtual const StoreFleet* fleet() const = 0;
  // True while this process runs the store's once-per-store periodic jobs (the rotation schedule).
  // A fleet: the replica holding the advisory lock. The directory store: the process holding an
  // exclusive flock on <directory>/.rotation.lock, so that several relays sharing one directory run
  // each step once; it is tried on each call and kept once taken, and the kernel drops it when the
  // holder dies. Called from one thread (the rotation loop).
  virtual bool leads_periodic_jobs() = 0;
  // Follows changes that other processes make to the store, until the returned watcher is
  // destroyed (before the Storage). The directory store starts its inotify watcher; a fleet store
  // returns null, as it follows them already (its keystore thread LISTENs from open when
  // StorageOptions::postgres.watch). After an error, reload() (SIGHUP) is the way.
  virtual Result<std::unique_ptr<KeyStoreWatcher>> follow_outside_changes() = 0;
};

// Which backend, and its options: plain structs, so that keystore/ does not know config/.
struct StorageOptions {
  enum class Backend { Directory, Postgres };
  Backend backend = Backend::Directory;
  DirectoryKeyStoreOptions directory;  // Backend::Directory
  PostgresKeyStoreOptions postgres;    // Backend::Postgres
  std::optional<Kek> kek;              // Backend::Postgres: required; seals the private keys
};

// Opens the chosen backend. Errors name it: "keystore DIR: ..." or "keystore (postgres): ...".
Result<std::unique_ptr<Storage>> open(StorageOptions options);

}  // namespace dkr::keystore
