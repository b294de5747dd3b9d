#pragma once
// The two Storage adapters behind keystore::open (storage.hpp).
#include <memory>
#include <string>
#include <vector>

#include "keystore/directory_key_store.hpp"
#include "keystore/key_store_watcher.hpp"
#include "keystore/postgres_key_store.hpp"
#include "keystore/storage.hpp"
#include "leader_lock_file.hpp"

namespace dkr::keystore {

// One directory, possibly shared by several relays on one host (or one volume): no fleet; the
// leader of the periodic jobs is whoever holds <directory>/.rotation.lock.
class DirectoryStorage final : public Storage {
 public:
  explicit DirectoryStorage(std::shared_ptr<DirectoryKeyStore> store);

  std::shared_ptr<KeyStore> keys() const override { return store_; }
  const std::string& description() const override { return description_; }
  KeyTransfer& transfer() override { return *store_; }
  std::vector<LoadProblem> problems() const override { return store_->problems(); }
  const StoreFleet* fleet() const override { return nullptr; }
  bool leads_periodic_jobs() override;
  Result<std::unique_ptr<KeyStoreWatcher>> follow_outside_changes() override;

 private:
  std::shared_ptr<DirectoryKeyStore> store_;
  std::string description_;
  std::unique_ptr<LeaderLockFile> leader_;  // made on the first leads_periodic_jobs()
};

// The PostgreSQL store a fleet shares: the store is its own StoreFleet.
class PostgresStorage final : public Storage, private StoreFleet {
 public:
  PostgresStorage(std::shared_ptr<PostgresKeyStore> store, const std::string& schema);

  std::shared_ptr<KeyStore> keys() const override { return store_; }
  const std::string& description() const override { return description_; }
  KeyTransfer& transfer() override { return *store_; }
  std::vector<LoadProblem> problems() const override { return store_->problems(); }
  const StoreFleet* fleet() const override { return this; }
  bool leads_periodic_jobs() override { return store_->runs_periodic_jobs(); }
  Result<std::unique_ptr<KeyStoreWatcher>> follow_outside_changes() override {
    return std::unique_ptr<KeyStoreWatcher>();
  }

 private:
  bool ready() const override { return store_->ready(); }
  bool runs_periodic_jobs() const override { return store_->runs_periodic_jobs(); }
  std::string render_metrics() const override { return store_->render_metrics(); }

  std::shared_ptr<PostgresKeyStore> store_;
  std::string description_;
};

}  // namespace dkr::keystore
