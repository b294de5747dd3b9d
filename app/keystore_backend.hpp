#pragma once
// Opens the keystore the config asks for: this file maps [keystore] onto keystore::open's options,
// the one place in app/ that knows the backends. Everything else uses keystore::Storage.
#include <memory>
#include <string>

#include "common/result.hpp"
#include "config/config.hpp"
#include "keystore/storage.hpp"
#include "pkcs11/pkcs11_vault.hpp"

namespace dkr::app {

struct OpenedKeystore {
  std::shared_ptr<keystore::Storage> storage;
  std::shared_ptr<pkcs11::Pkcs11Vault> pkcs11;  // set when keystore.private_keys = "pkcs11"
  std::string description;                      // the storage's, and where the private keys are
};

// Loads a KEK file after the secret-file checks `serve` runs (owner and mode of the final target of
// a symlink chain), so every command that takes a KEK refuses a 0644 one alike. `key` names where the
// path came from ("keystore.kek_file", "--kek") for the message.
Result<keystore::Kek> load_checked_kek(const std::string& key, const std::string& path);

// keystore.private_keys = "pkcs11": the token of [pkcs11], logged in; errors name the config key
// (pkcs11.module, pkcs11.token_label, pkcs11.pin_file).
Result<std::shared_ptr<pkcs11::Pkcs11Vault>> open_pkcs11_vault(const config::Config& config);
// `watch`: follow changes made by other processes (serve); one-shot commands do not.
Result<OpenedKeystore> open_keystore(const config::Config& config, bool watch);
// Loads the config file and opens its keystore without the keystore thread (db_command.cpp).
Result<OpenedKeystore> open_configured_keystore(std::string_view config_path);

}  // namespace dkr::app
