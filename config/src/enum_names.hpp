#pragma once
// The spelling of each enum value in the config file, shared by parsing and rendering.
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "config/config.hpp"

namespace dkr::config::detail {

template <class E, std::size_t N>
using NameTable = std::array<std::pair<E, std::string_view>, N>;

inline constexpr NameTable<UnsignedPolicy, 3> kUnsignedPolicyNames{
    {{UnsignedPolicy::Pass, "pass"}, {UnsignedPolicy::Tempfail, "tempfail"}, {UnsignedPolicy::Reject, "reject"}}};
inline constexpr NameTable<BareLineEndings, 2> kBareLineEndingsNames{
    {{BareLineEndings::Reject, "reject"}, {BareLineEndings::Normalize, "normalize"}}};
inline constexpr NameTable<UpstreamType, 2> kUpstreamTypeNames{
    {{UpstreamType::Smtp, "smtp"}, {UpstreamType::Directory, "directory"}}};
inline constexpr NameTable<KeystoreType, 2> kKeystoreTypeNames{
    {{KeystoreType::Directory, "directory"}, {KeystoreType::Postgres, "postgres"}}};
inline constexpr NameTable<PrivateKeys, 2> kPrivateKeysNames{
    {{PrivateKeys::Store, "store"}, {PrivateKeys::Pkcs11, "pkcs11"}}};
inline constexpr NameTable<StartTls, 3> kStartTlsNames{
    {{StartTls::None, "none"}, {StartTls::Opportunistic, "opportunistic"}, {StartTls::Required, "required"}}};
inline constexpr NameTable<SigningAlgorithm, 2> kSigningAlgorithmNames{
    {{SigningAlgorithm::RsaSha256, "rsa-sha256"}, {SigningAlgorithm::Ed25519Sha256, "ed25519-sha256"}}};
inline constexpr NameTable<Canon, 2> kCanonNames{{{Canon::Simple, "simple"}, {Canon::Relaxed, "relaxed"}}};
inline constexpr NameTable<LogLevel, 7> kLogLevelNames{{
    {LogLevel::Trace, "trace"},
    {LogLevel::Debug, "debug"},
    {LogLevel::Info, "info"},
    {LogLevel::Warn, "warn"},
    {LogLevel::Error, "error"},
    {LogLevel::Critical, "critical"},
    {LogLevel::Off, "off"},
}};
inline constexpr NameTable<LogFormat, 2> kLogFormatNames{{{LogFormat::Text, "text"}, {LogFormat::Json, "json"}}};
inline constexpr NameTable<AdminRole, 4> kAdminRoleNames{{{AdminRole::Read, "read"},
                                                          {AdminRole::Rotate, "rotate"},
                                                          {AdminRole::Admin, "admin"},
                                                          {AdminRole::Metrics, "metrics"}}};

inline constexpr NameTable<DnsPublishType, 2> kDnsPublishTypeNames{
    {{DnsPublishType::None, "none"}, {DnsPublishType::Rfc2136, "rfc2136"}}};

template <class E, std::size_t N>
std::optional<E> parse_name(const NameTable<E, N>& table, std::string_view text) {
  for (const auto& [value, name] : table) {
    if (name == text) return value;
  }
  return std::nullopt;
}

template <class E, std::size_t N>
std::string_view name_of(const NameTable<E, N>& table, E value) {
  for (const auto& [candidate, name] : table) {
    if (candidate == value) return name;
  }
  return "?";
}

// `"pass", "tempfail" or "reject"` for error messages.
template <class E, std::size_t N>
std::string describe_names(const NameTable<E, N>& table) {
  std::string out;
  for (std::size_t i = 0; i < N; ++i) {
    if (i > 0) out += (i + 1 == N) ? " or " : ", ";
    out += "\"" + std::string(table[i].second) + "\"";
  }
  return out;
}

// "relaxed/simple"; a single word means "<word>/simple" as in the DKIM c= tag (RFC 6376 §3.5).
std::optional<Canonicalization> parse_canonicalization(std::string_view text);
std::string canonicalization_name(Canonicalization canon);

}  // namespace dkr::config::detail
