#pragma once
// Keys entering a store, the same for both key stores: generated ones (add_domain, stage_key) and
// imported ones (import_key: another store, a bundle, OpenDKIM).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "domain_metadata.hpp"
#include "keystore/key_store.hpp"
#include "keystore/private_key_vault.hpp"
#include "signer/signing_key.hpp"

namespace dkr::keystore {

struct GeneratedKey {
  signer::SigningKey key;
  int bits;
  std::string stored;  // what the store keeps: the vault's PEM or token reference
};

// RSA 2048/3072/4096 or Ed25519; anything else is ErrorCode::invalid. Slow for RSA: call it before
// taking locks or opening a transaction.
// The key is made by `vault` (in this process, or inside a PKCS#11 token); `label` names it there.
Result<GeneratedKey> generate_key(const KeyParams& params, PrivateKeyVault& vault, std::string_view label);

// The selector a caller asked for in `params`, normalized; nullopt when it left the choice to us.
Result<std::optional<std::string>> requested_selector(const KeyParams& params);

// The selector of a new key of `domain`, whose selectors are `existing`: `wanted` (conflict when `existing` has it
// already), or else the next name of `pattern` that neither `existing` nor `also_taken` (e.g. key files on disk) uses.
Result<std::string> choose_selector(const std::optional<std::string>& wanted, std::string_view domain,
                                    const DomainMetadata& existing, std::string_view pattern, std::int64_t now,
                                    const std::function<bool(const std::string&)>& also_taken = {});

// The new selector `selector` of `generated`, in `state` (Staged or Active) as of `now`.
SelectorInfo new_selector_info(std::string selector, const GeneratedKey& generated, const KeyParams& params,
                               KeyState state, std::int64_t now);

struct ParsedImport {
  SelectorInfo info;  // `wanted` with its selector normalized and algorithm, bits, DNS record from the key
  signer::SigningKey key;
  std::string stored;  // what the store keeps, from `vault`: the PEM, or the reference of the token's copy
};
// Parses `pem` (ErrorCode::invalid when it is not a usable key) for import as `wanted` and hands it
// to `vault` (which, for a token, creates the object: destroy `stored` if the import then fails).
Result<ParsedImport> parse_import(const SelectorInfo& wanted, std::string_view pem, signer::KeyPolicy policy,
                                  PrivateKeyVault& vault, std::string_view domain);

// Adds an imported selector to `after`, keeping its state and timestamps (created_at 0: now). An
// active key retires the domain's active key of its algorithm, as activate does. Conflict when the
// selector exists. Returns the selector as stored.
Result<SelectorInfo> add_imported(DomainMetadata& after, SelectorInfo info, std::int64_t now);

// Destroys a freshly made private key (a token object) unless keep() is called: a key whose store
// write failed must not stay behind in the token.
class VaultGuard {
 public:
  VaultGuard(PrivateKeyVault& vault, std::string_view stored) : vault_(vault), stored_(stored) {}
  ~VaultGuard();
  VaultGuard(const VaultGuard&) = delete;
  VaultGuard& operator=(const VaultGuard&) = delete;
  void keep() { kept_ = true; }

 private:
  PrivateKeyVault& vault_;
  std::string_view stored_;
  bool kept_ = false;
};

// Destroys the private key whose stored text is `file` (a removed selector's key file), or those
// of every key file in `domain_dir`; failures are logged (the token object is then an orphan).
void destroy_private_key(PrivateKeyVault& vault, const std::filesystem::path& file);
void destroy_private_keys(PrivateKeyVault& vault, const std::filesystem::path& domain_dir);
// The same for stored text read elsewhere (a database row); `what` names it in the log.
void destroy_stored_key(PrivateKeyVault& vault, std::string_view stored, std::string_view what);

}  // namespace dkr::keystore
