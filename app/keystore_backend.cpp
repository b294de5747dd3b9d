#include "keystore_backend.hpp"

#include "runtime_settings.hpp"
#include "secret_files.hpp"

namespace dkr::app {

Result<keystore::Kek> load_checked_kek(const std::string& key, const std::string& path) {
  if (auto checked = check_secret_file(key, path); !checked) return checked.error();
  return keystore::Kek::load(path);
}

keystore::PostgresKeyStoreOptions postgres_options(const config::Config& config) {
  keystore::PostgresKeyStoreOptions o;
  o.dsn = config.keystore.dsn;
  o.schema = config.keystore.schema;
  o.poll_interval = config.keystore.poll_interval;
  o.selector_pattern = config.keystore.selector_pattern;
  o.allow_weak_rsa = config.signing.allow_weak_rsa;
  return o;
}

Result<OpenedKeystore> open_keystore(const config::Config& config, bool watch) {
  OpenedKeystore opened;
  if (config.keystore.type == config::KeystoreType::Postgres) {
    auto kek = load_checked_kek("keystore.kek_file", config.keystore.kek_file);
    if (!kek) return kek.error();
    auto options = postgres_options(config);
    options.watch = watch;
    auto store = keystore::PostgresKeyStore::open(options, std::move(*kek));
    if (!store) return make_error(store.error().code, "keystore (postgres): " + store.error().message);
    opened.postgres = store->get();
    opened.store = std::shared_ptr<keystore::KeyStore>(std::move(*store));
    opened.description = "postgres, schema " + config.keystore.schema;
    return opened;
  }
  auto store = keystore::DirectoryKeyStore::open(keystore_options(config));
  if (!store) return make_error(store.error().code, "keystore " + config.keystore.path + ": " + store.error().message);
  opened.directory = store->get();
  opened.store = std::shared_ptr<keystore::KeyStore>(std::move(*store));
  opened.description = config.keystore.path;
  return opened;
}

}  // namespace dkr::app
