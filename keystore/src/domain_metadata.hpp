#pragma once
// keys.json: a domain's selectors, their algorithms, states and timestamps.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keystore/key_store.hpp"

namespace dkr::keystore {

inline constexpr std::string_view kMetadataFile = "keys.json";

struct DomainMetadata {
  std::string domain;
  std::vector<SelectorInfo> selectors;  // dns_record is not stored: it derives from the key
  RotationOverride rotation{};          // "rotation": {...}, only when not empty (older files have none)
  bool delegated = false;               // DomainInfo::delegated
  PublishError publish_error{};         // "publish_error": {...}, only when set (older files have none)

  SelectorInfo* find(std::string_view selector);
  const SelectorInfo* find(std::string_view selector) const;
};

std::string serialize_metadata(const DomainMetadata& metadata);
// Checks structure, names, states and "at most one active key per algorithm".
Result<DomainMetadata> parse_metadata(std::string_view json, std::string_view expected_domain);

// The rotation override and a key's DNS check as JSON (keys.json and the PostgreSQL columns).
std::string rotation_json(const RotationOverride& rotation);
Result<RotationOverride> rotation_from_json(std::string_view json);
std::string dns_check_json(const DnsCheck& check);
DnsCheck dns_check_from_json(std::string_view json);  // {} when unreadable: a display aid, not state
std::string publish_error_json(const PublishError& error);
PublishError publish_error_from_json(std::string_view json);  // {} when unreadable: a display aid, not state

std::filesystem::path key_file_path(const std::filesystem::path& domain_dir, std::string_view selector);

// Reads <root>/<domain>/keys.json; nullopt when the domain does not exist.
Result<std::optional<DomainMetadata>> read_metadata(const std::filesystem::path& root, const std::string& domain);

// KeyStore::change_states on metadata: false (metadata untouched) when a key is gone or not in its
// `from` state, or when there is nothing to change; `removed` lists the keys deleted (their PEM
// file or row goes too). Conflict when the result would hold two active keys of one algorithm.
Result<bool> apply_state_changes(DomainMetadata& metadata, const std::vector<StateChange>& changes, std::int64_t now,
                                 std::vector<std::string>& removed);
// KeyStore::record_dns_check on metadata: false when the key is gone, no longer staged, or its
// stored check is already `check`.
bool apply_dns_check(DomainMetadata& metadata, std::string_view selector, const DnsCheck& check);
// KeyStore::record_publish_error on metadata: false when the stored error is already `error`.
bool apply_publish_error(DomainMetadata& metadata, const PublishError& error);

// KeyParams::unless_staged: conflict when a staged key of `algorithm` exists.
Result<void> check_unless_staged(const DomainMetadata& metadata, signer::Algorithm algorithm);
// KeyParams::unless_staged and KeyParams::replacing, as the stores check them before staging.
Result<void> check_stage_guards(const DomainMetadata& metadata, const KeyParams& params);

}  // namespace dkr::keystore
