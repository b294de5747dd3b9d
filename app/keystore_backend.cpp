#include "keystore_backend.hpp"

#include <openssl/crypto.h>

#include <csignal>

#include <fstream>
#include <sstream>

#include "runtime_settings.hpp"
#include "secret_files.hpp"

namespace dkr::app {

Result<keystore::Kek> load_checked_kek(const std::string& key, const std::string& path) {
  if (auto checked = check_secret_file(key, path); !checked) return checked.error();
  return keystore::Kek::load(path);
}

namespace {

// [keystore] and the vault as keystore::open's options; loads the KEK a PostgreSQL store needs.
Result<keystore::StorageOptions> storage_options(const config::Config& config, bool watch,
                                                 std::shared_ptr<keystore::PrivateKeyVault> vault) {
  keystore::StorageOptions options;
  if (config.keystore.type == config::KeystoreType::Postgres) {
    auto kek = load_checked_kek("keystore.kek_file", config.keystore.kek_file);
    if (!kek) return kek.error();
    options.backend = keystore::StorageOptions::Backend::Postgres;
    options.kek = std::move(*kek);
    keystore::PostgresKeyStoreOptions& o = options.postgres;
    o.dsn = config.keystore.dsn;
    o.schema = config.keystore.schema;
    o.poll_interval = config.keystore.poll_interval;
    o.selector_pattern = config.keystore.selector_pattern;
    o.allow_weak_rsa = config.signing.allow_weak_rsa;
    o.watch = watch;
    o.vault = std::move(vault);
    return options;
  }
  options.backend = keystore::StorageOptions::Backend::Directory;
  options.directory = keystore_options(config);
  options.directory.vault = std::move(vault);
  return options;
}

}  // namespace

Result<std::shared_ptr<pkcs11::Pkcs11Vault>> open_pkcs11_vault(const config::Config& config) {
  const auto& c = config.pkcs11;
  if (auto checked = check_secret_file("pkcs11.pin_file", c.pin_file); !checked) return checked.error();
  std::ifstream in(c.pin_file, std::ios::binary);
  if (!in) return make_error(ErrorCode::invalid, "pkcs11.pin_file: cannot read " + c.pin_file);
  std::ostringstream text;
  text << in.rdbuf();
  pkcs11::TokenSettings settings;
  settings.module = c.module;
  settings.token_label = c.token_label;
  settings.pin = text.str();
  while (!settings.pin.empty() && (settings.pin.back() == '\n' || settings.pin.back() == '\r')) settings.pin.pop_back();
  if (settings.pin.empty()) return make_error(ErrorCode::invalid, "pkcs11.pin_file: " + c.pin_file + " is empty");
  // A module that reaches its token over a socket (p11-kit-client.so) writes with write(2): a key
  // service that went away must give the call EPIPE, not kill the relay with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  pkcs11::OpenFailure failure = pkcs11::OpenFailure::Other;
  auto vault = pkcs11::Pkcs11Vault::connect(settings, &failure);
  OPENSSL_cleanse(settings.pin.data(), settings.pin.size());
  if (!vault) {
    const char* key = failure == pkcs11::OpenFailure::Module  ? "pkcs11.module"
                      : failure == pkcs11::OpenFailure::Token ? "pkcs11.token_label"
                      : failure == pkcs11::OpenFailure::Pin   ? "pkcs11.pin_file"
                                                              : "pkcs11.module";
    return make_error(ErrorCode::invalid, std::string(key) + ": " + vault.error().message);
  }
  return vault;
}

Result<OpenedKeystore> open_keystore(const config::Config& config, bool watch) {
  OpenedKeystore opened;
  std::shared_ptr<keystore::PrivateKeyVault> vault = keystore::store_vault();
  if (config.keystore.private_keys == config::PrivateKeys::Pkcs11) {
    auto token = open_pkcs11_vault(config);
    if (!token) return token.error();
    opened.pkcs11 = *token;
    vault = *token;
  }
  auto options = storage_options(config, watch, std::move(vault));
  if (!options) return options.error();
  auto storage = keystore::open(std::move(*options));
  if (!storage) return storage.error();
  opened.storage = std::move(*storage);
  opened.description = opened.storage->description();
  if (opened.pkcs11) opened.description += ", private keys in PKCS#11 token " + config.pkcs11.token_label;
  return opened;
}

}  // namespace dkr::app
