#include "incoming_key.hpp"

#include "keystore/domain_name.hpp"
#include "selector_pattern.hpp"

namespace dkr::keystore {

Result<GeneratedKey> generate_key(const KeyParams& params) {
  int bits = 256;
  if (params.algorithm != signer::Algorithm::Ed25519Sha256) {
    if (params.bits != 2048 && params.bits != 3072 && params.bits != 4096) {
      return make_error(ErrorCode::invalid,
                        "RSA keys must have 2048, 3072 or 4096 bits (asked for " + std::to_string(params.bits) + ")");
    }
    bits = params.bits;
  }
  auto key = signer::SigningKey::generate(params.algorithm, bits);
  if (!key) return make_error("cannot generate key: " + key.error().message);
  return GeneratedKey{std::move(*key), bits};
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
  return info;
}

Result<ParsedImport> parse_import(const SelectorInfo& wanted, std::string_view pem, signer::KeyPolicy policy) {
  auto selector = normalize_selector(wanted.selector);
  if (!selector) return selector.error();
  auto key = signer::SigningKey::from_pem(pem, policy);
  if (!key) return make_error(ErrorCode::invalid, key.error().message);
  SelectorInfo info = wanted;
  info.selector = *selector;
  info.algorithm = key->algorithm();
  info.bits = key->algorithm() == signer::Algorithm::Ed25519Sha256 ? 256 : key->bits();
  info.dns_record = key->dns_record();
  return ParsedImport{std::move(info), std::move(*key)};
}

Result<SelectorInfo> add_imported(DomainMetadata& after, SelectorInfo info, std::int64_t now) {
  if (after.find(info.selector) != nullptr) {
    return make_error(ErrorCode::conflict, "selector '" + info.selector + "' already exists in domain " + after.domain);
  }
  if (info.created_at == 0) info.created_at = now;
  const KeyState target = info.state;
  if (target == KeyState::Active) info.state = KeyState::Staged;
  after.selectors.push_back(info);
  if (target == KeyState::Active) {
    auto activated = apply_activate(after, info.selector, info.activated_at != 0 ? info.activated_at : now);
    if (!activated) return activated.error();
  }
  return *after.find(info.selector);
}

}  // namespace dkr::keystore
