#pragma once
// Opens the keystore the config asks for. The relay and the admin API see only keystore::KeyStore;
// the few backend-specific extras (directory watching, fleet metrics) are reached through the
// typed pointers, of which at most one is set.
#include <memory>
#include <string>

#include "common/result.hpp"
#include "config/config.hpp"
#include "keystore/directory_key_store.hpp"
#include "keystore/postgres_key_store.hpp"
#include "pkcs11/pkcs11_vault.hpp"

namespace dkr::app {

struct OpenedKeystore {
  std::shared_ptr<keystore::KeyStore> store;
  keystore::DirectoryKeyStore* directory = nullptr;
  keystore::PostgresKeyStore* postgres = nullptr;
  std::shared_ptr<pkcs11::Pkcs11Vault> pkcs11;  // set when keystore.private_keys = "pkcs11"
  std::string description;                      // "directory ./data/keys" or "postgres schema dkim_relay"
};

// Loads a KEK file after the secret-file checks `serve` runs (owner and mode of the final target of
// a symlink chain), so every command that takes a KEK refuses a 0644 one alike. `key` names where the
// path came from ("keystore.kek_file", "--kek") for the message.
Result<keystore::Kek> load_checked_kek(const std::string& key, const std::string& path);

keystore::PostgresKeyStoreOptions postgres_options(const config::Config& config);
// keystore.private_keys = "pkcs11": the token of [pkcs11], logged in; errors name the config key
// (pkcs11.module, pkcs11.token_label, pkcs11.pin_file).
Result<std::shared_ptr<pkcs11::Pkcs11Vault>> open_pkcs11_vault(const config::Config& config);
// `watch`: run the PostgreSQL keystore thread (serve); one-shot commands do not.
Result<OpenedKeystore> open_keystore(const config::Config& config, bool watch);
// Loads the config file and opens its keystore without the keystore thread (db_command.cpp).
Result<OpenedKeystore> open_configured_keystore(std::string_view config_path);

}  // namespace dkr::app
