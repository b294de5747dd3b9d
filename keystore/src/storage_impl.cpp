#include "storage_impl.hpp"

namespace dkr::keystore {

DirectoryStorage::DirectoryStorage(std::shared_ptr<DirectoryKeyStore> store)
    : store_(std::move(store)), description_(store_->path().string()) {}

bool DirectoryStorage::leads_periodic_jobs() {
  if (!leader_) leader_ = std::make_unique<LeaderLockFile>(store_->path() / ".rotation.lock");
  return leader_->held();
}

Result<std::unique_ptr<KeyStoreWatcher>> DirectoryStorage::follow_outside_changes() {
  return KeyStoreWatcher::start(*store_);
}

PostgresStorage::PostgresStorage(std::shared_ptr<PostgresKeyStore> store, const std::string& schema)
    : store_(std::move(store)), description_("postgres, schema " + schema) {}

Result<std::unique_ptr<Storage>> open(StorageOptions options) {
  if (options.backend == StorageOptions::Backend::Postgres) {
    if (!options.kek) return make_error(ErrorCode::invalid, "keystore (postgres): no key-encryption key (kek_file)");
    auto store = PostgresKeyStore::open(options.postgres, std::move(*options.kek));
    if (!store) return make_error(store.error().code, "keystore (postgres): " + store.error().message);
    return std::unique_ptr<Storage>(std::make_unique<PostgresStorage>(
        std::shared_ptr<PostgresKeyStore>(std::move(*store)), options.postgres.schema));
  }
  auto store = DirectoryKeyStore::open(options.directory);
  if (!store) {
    return make_error(store.error().code, "keystore " + options.directory.path.string() + ": " + store.error().message);
  }
  return std::unique_ptr<Storage>(
      std::make_unique<DirectoryStorage>(std::shared_ptr<DirectoryKeyStore>(std::move(*store))));
}

}  // namespace dkr::keystore
