#pragma once
// Moving keys between stores (`dkim-relay keys export` / `keys import`): a key with its selector,
// lifecycle state and timestamps and its private PEM; a JSON bundle of such keys with every private
// key sealed under a KEK (the PostgreSQL store's envelope, key_envelope.hpp); and the OpenDKIM
// KeyTable/SigningTable reader, which imports into either store.
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "keystore/key_envelope.hpp"
#include "keystore/key_store.hpp"

namespace dkr::keystore {

struct KeyMaterial {
  std::string domain;
  SelectorInfo info;
  std::string pem;  // secret: wiped on destruction
  // The domain's DomainInfo::delegated, carried with each of its keys (info.slot names the key's slot).
  bool delegated = false;

  KeyMaterial() = default;
  KeyMaterial(std::string domain, SelectorInfo info, std::string pem);
  KeyMaterial(const KeyMaterial&) = default;
  KeyMaterial(KeyMaterial&&) = default;
  KeyMaterial& operator=(const KeyMaterial&) = default;
  KeyMaterial& operator=(KeyMaterial&&) = default;
  ~KeyMaterial();
};

// Moving keys in and out of a store with their states and timestamps (keys export / import,
// import-pem). Both stores implement it, so that the CLI moves keys without knowing the backend.
class KeyTransfer {
 public:
  virtual ~KeyTransfer() = default;
  // Every key with its private PEM, domains and selectors in order; refused at the first key that
  // cannot be read, naming it.
  virtual Result<std::vector<KeyMaterial>> export_keys() const = 0;
  // Stores a private key (PEM) under info.selector with info's state and timestamps; an active key
  // retires the domain's active key of its algorithm in the same write. The domain is created if
  // needed; `delegated`: the key's domain is a delegated domain (KeyMaterial::delegated).
  virtual Result<SelectorInfo> import_key(std::string_view domain, const SelectorInfo& info, std::string_view pem,
                                          bool delegated = false) = 0;
};

// `keys import-pem`: a private key file (PKCS#8 or traditional RSA PEM) imported as the active
// selector `selector` through `into`; an invalid key's error names the file.
Result<SelectorInfo> import_pem_file(KeyTransfer& into, std::string_view domain, std::string_view selector,
                                     const std::filesystem::path& pem_path);

// Stores a key in a store, keeping its state and timestamps (KeyTransfer::import_key).
using KeyImporter =
    std::function<Result<SelectorInfo>(std::string_view domain, const SelectorInfo& info, std::string_view pem)>;

// Writes `keys` as a JSON bundle, each private key sealed under `kek` with its domain and selector
// as associated data; the file is written 0600 with an atomic rename and never overwritten.
Result<void> write_key_bundle(const std::filesystem::path& file, const std::vector<KeyMaterial>& keys, const Kek& kek);
// Reads and opens every key of a bundle; refused as a whole (ErrorCode::invalid) at the first key
// that does not decrypt with `kek`, naming it.
Result<std::vector<KeyMaterial>> read_key_bundle(const std::filesystem::path& file, const Kek& kek);

struct ImportedKey {
  std::string domain;
  std::string selector;
  std::string source;  // file the key came from
};
struct SkippedEntry {
  std::string entry;  // "SigningTable:3: *@*.example.com" or similar
  std::string reason;
};
struct ImportReport {
  std::vector<ImportedKey> imported;
  std::vector<SkippedEntry> skipped;
};

// OpenDKIM KeyTable ("name domain:selector:/path") + SigningTable ("*@domain name" or
// "domain name"): imports the keys the SigningTable uses into `store` as active keys through
// `import`; anything else (and selectors the store already has) is skipped with a reason.
Result<ImportReport> import_opendkim_tables(const std::filesystem::path& key_table,
                                            const std::filesystem::path& signing_table, const KeyStore& store,
                                            const KeyImporter& import);

}  // namespace dkr::keystore
