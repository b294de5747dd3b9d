#include "incoming_key.hpp"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include "durable_file.hpp"
#include "keystore/domain_name.hpp"
#include "selector_pattern.hpp"

namespace dkr::keystore {

Result<GeneratedKey> generate_key(const KeyParams& params, PrivateKeyVault& vault, std::string_view label) {
  int bits = 256;
  if (params.algorithm != signer::Algorithm::Ed25519Sha256) {
    if (params.bits != 2048 && params.bits != 3072 && params.bits != 4096) {
      return make_error(ErrorCode::invalid,
                        "RSA keys must have 2048, 3072 or 4096 bits (asked for " + std::to_string(params.bits) + ")");
    }
    bits = params.bits;
  }
  auto made = vault.generate(params.algorithm, bits, label);
  if (!made) return make_error(made.error().code, "cannot generate key: " + made.error().message);
  return GeneratedKey{std::move(made->key), bits, std::move(made->stored)};
}

Result<std::optional<std::string>> requested_selector(const KeyParams& params) {
  if (!params.selector) return std::optional<std::string>{};
  auto normalized = normalize_selector(*params.selector);
  if (!normalized) return normalized.error();
  return std::optional<std::string>{std::move(*normalized)};
}

Result<std::string> choose_selector(const std::optional<std::string>& wanted, std::string_view domain,
                                    const DomainMetadata& existing, std::string_view pattern, std::int64_t now,
                                    const std::function<bool(const std::string&)>& also_taken) {
  if (wanted) {
    if (existing.find(*wanted) != nullptr) {
      return make_error(ErrorCode::conflict,
                        "selector '" + *wanted + "' already exists in domain " + std::string(domain));
    }
    return *wanted;
  }
  return next_selector(pattern, now, [&](const std::string& candidate) {
    return existing.find(candidate) != nullptr || (also_taken && also_taken(candidate));
  });
}

SelectorInfo new_selector_info(std::string selector, const GeneratedKey& generated, const KeyParams& params,
                               KeyState state, std::int64_t now) {
  SelectorInfo info;
  info.selector = std::move(selector);
  info.algorithm = params.algorithm;
  info.bits = generated.bits;
  info.state = state;
  info.created_at = now;
  if (state == KeyState::Active) info.activated_at = now;
  info.activate_after_dns = state == KeyState::Staged && params.activate_after_dns;
  info.dns_record = generated.key.dns_record();
  if (params.slot && *params.slot != info.selector) info.slot = *params.slot;
  return info;
}

Result<ParsedImport> parse_import(const SelectorInfo& wanted, std::string_view pem, signer::KeyPolicy policy,
                                  PrivateKeyVault& vault, std::string_view domain) {
  auto selector = normalize_selector(wanted.selector);
  if (!selector) return selector.error();
  auto key = signer::SigningKey::from_pem(pem, policy);
  if (!key) return make_error(ErrorCode::invalid, key.error().message);
  SelectorInfo info = wanted;
  info.selector = *selector;
  info.algorithm = key->algorithm();
  info.bits = key->algorithm() == signer::Algorithm::Ed25519Sha256 ? 256 : key->bits();
  info.dns_record = key->dns_record();
  auto kept = vault.import(*key, domain);
  if (!kept) return make_error(kept.error().code, "cannot import key: " + kept.error().message);
  return ParsedImport{std::move(info), std::move(kept->key), std::move(kept->stored)};
}

Result<SelectorInfo> add_imported(DomainMetadata& after, SelectorInfo info, std::int64_t now) {
  if (after.find(info.selector) != nullptr) {
    return make_error(ErrorCode::conflict, "selector '" + info.selector + "' already exists in domain " + after.domain);
  }
  if (info.created_at == 0) info.created_at = now;
  const KeyState target = info.state;
  if (target != KeyState::Active) {
    after.selectors.push_back(info);
    return info;
  }
  // Storage, not a lifecycle decision: the key arrives as its domain's signing key, so the active key
  // of its algorithm it displaces stays published, retiring (one active key per algorithm is what the
  // stores hold).
  info.state = KeyState::Staged;
  after.selectors.push_back(info);
  std::vector<StateChange> changes;
  for (const SelectorInfo& other : after.selectors) {
    if (other.state == KeyState::Active && other.algorithm == info.algorithm)
      changes.push_back({other.selector, KeyState::Active, KeyState::Retiring});
  }
  changes.push_back({info.selector, KeyState::Staged, KeyState::Active});
  std::vector<std::string> removed;
  auto activated = apply_state_changes(after, changes, info.activated_at != 0 ? info.activated_at : now, removed);
  if (!activated) return activated.error();
  return *after.find(info.selector);
}

VaultGuard::~VaultGuard() {
  if (!kept_) destroy_stored_key(vault_, stored_, "a key whose store write failed");
}

void destroy_stored_key(PrivateKeyVault& vault, std::string_view stored, std::string_view what) {
  if (!is_token_reference(stored)) return;
  if (auto destroyed = vault.destroy(stored); !destroyed) {
    spdlog::warn("keystore: cannot destroy the token object of {}: {}", what, destroyed.error().message);
  }
}

void destroy_private_key(PrivateKeyVault& vault, const std::filesystem::path& file) {
  auto stored = read_file(file);
  if (!stored) return;
  destroy_stored_key(vault, *stored, file.string());
  OPENSSL_cleanse(stored->data(), stored->size());
}

void destroy_private_keys(PrivateKeyVault& vault, const std::filesystem::path& domain_dir) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(domain_dir, ec)) {
    if (entry.path().extension() == ".pem") destroy_private_key(vault, entry.path());
  }
}

}  // namespace dkr::keystore
