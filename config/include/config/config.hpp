#pragma once
// The relay's configuration as plain values. Only config/src knows about TOML; everything else in
// the project sees these structs.
//
// Sources, in order of precedence (later wins): embedded defaults, the TOML file, DKIM_RELAY_*
// environment variables. Relative paths are kept exactly as written and are therefore resolved
// against the working directory of the process, not the directory of the config file.
#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/cidr.hpp"
#include "config/settings_table.hpp"

namespace dkr::config {

// "host:port"; IPv6 hosts are written in brackets ("[::1]:2525") and stored without them.
struct Endpoint {
  std::string host;
  std::uint16_t port = 0;

  std::string to_string() const;
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};
// Port 0..65535 (callers decide whether 0, "any free port", makes sense); the host is a name or
// an IPv4 address, or an IPv6 address in brackets. With `default_port`, ":port" may be omitted
// and a bare IPv6 address needs no brackets.
std::optional<Endpoint> parse_endpoint(std::string_view text, std::optional<std::uint16_t> default_port = std::nullopt);

// Address ranges: the one parser in common/ (relay matches clients with the same type).
using dkr::Cidr;
using dkr::parse_cidr;

// "25MiB", "512KiB", "1GiB", "25MB" (10^6), "10KB", "1000" or "1000B" (bytes). Units are
// case-sensitive; no spaces, no fractions.
std::optional<std::uint64_t> parse_size(std::string_view text);
std::string format_size(std::uint64_t bytes);  // largest exact unit: 26214400 -> "25MiB"

// "250ms", "30s", "5m", "1h", "1d", "0s". A bare number is refused: its unit would be a guess.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
std::string format_duration(std::chrono::milliseconds duration);  // largest exact unit: "5m"

enum class UnsignedPolicy { Pass, Tempfail, Reject };  // a message no key signs
enum class BareLineEndings { Reject, Normalize };      // lone CR or LF in DATA
enum class UpstreamType { Smtp, Directory };
enum class StartTls { None, Opportunistic, Required };
enum class SigningAlgorithm { RsaSha256, Ed25519Sha256 };
enum class Canon { Simple, Relaxed };
enum class LogLevel { Trace, Debug, Info, Warn, Error, Critical, Off };
enum class LogFormat { Text, Json };

std::string_view to_string(UnsignedPolicy value);
std::string_view to_string(BareLineEndings value);
std::string_view to_string(UpstreamType value);
std::string_view to_string(StartTls value);
std::string_view to_string(SigningAlgorithm value);  // "rsa-sha256" / "ed25519-sha256"
std::string_view to_string(Canon value);
std::string_view to_string(LogLevel value);  // spdlog's level names
std::string_view to_string(LogFormat value);

struct Canonicalization {
  Canon header = Canon::Relaxed;
  Canon body = Canon::Relaxed;
  friend bool operator==(const Canonicalization&, const Canonicalization&) = default;
};

using std::chrono::milliseconds;

// Which From domains a client may have signed: "example.com", "*.example.com" (its subdomains,
// not itself) or "*" (any). Stored lowercase.
using DomainPatterns = std::vector<std::string>;

// [[relay.clients]]: network clients (no AUTH) from `networks` may sign only `domains`.
struct RelayClient {
  std::vector<Cidr> networks;
  DomainPatterns domains;
  friend bool operator==(const RelayClient&, const RelayClient&) = default;
};

// The members of the section structs below come from the rows of config/settings_table.hpp, which
// gives each one's type, default and meaning.
struct RelayConfig {
  DKR_RELAY_SETTINGS(DKR_SETTING_MEMBER)
  std::vector<RelayClient> clients;  // [[relay.clients]]; first match wins
  friend bool operator==(const RelayConfig&, const RelayConfig&) = default;
};

struct UpstreamConfig {
  DKR_UPSTREAM_SETTINGS(DKR_SETTING_MEMBER)
  friend bool operator==(const UpstreamConfig&, const UpstreamConfig&) = default;
};

struct SigningConfig {
  DKR_SIGNING_SETTINGS(DKR_SETTING_MEMBER)
  friend bool operator==(const SigningConfig&, const SigningConfig&) = default;
};

enum class KeystoreType { Directory, Postgres };
// Where private keys live: in the keystore itself, or in a PKCS#11 token ([pkcs11]).
enum class PrivateKeys { Store, Pkcs11 };

struct KeystoreConfig {
  DKR_KEYSTORE_SETTINGS(DKR_SETTING_MEMBER)
  friend bool operator==(const KeystoreConfig&, const KeystoreConfig&) = default;
};

struct Pkcs11Config {
  DKR_PKCS11_SETTINGS(DKR_SETTING_MEMBER)
  friend bool operator==(const Pkcs11Config&, const Pkcs11Config&) = default;
};

enum class AdminRole { Read, Rotate, Admin, Metrics };

std::string_view to_string(AdminRole value);

// [[admin.tokens]]: a bearer token limited to some domains and a role.
struct AdminTokenConfig {
  std::string name;
  std::string token_file;
  DomainPatterns domains;
  AdminRole role = AdminRole::Read;
  friend bool operator==(const AdminTokenConfig&, const AdminTokenConfig&) = default;
};

struct AdminConfig {
  DKR_ADMIN_SETTINGS(DKR_SETTING_MEMBER)
  std::vector<AdminTokenConfig> tokens;  // [[admin.tokens]], besides the token_file/token_env one
  friend bool operator==(const AdminConfig&, const AdminConfig&) = default;
};

// [dns]: lookups of key records (they used to be admin.dns_resolver, dns_timeout, dns_check_interval).
struct DnsConfig {
  DKR_DNS_SETTINGS(DKR_SETTING_MEMBER)
  friend bool operator==(const DnsConfig&, const DnsConfig&) = default;
};

enum class DnsPublishType { None, Rfc2136 };
std::string_view to_string(DnsPublishType value);

// [dns.publish]: where dkim-relay publishes the records of delegated selectors.
struct DnsPublishConfig {
  DKR_DNS_PUBLISH_SETTINGS(DKR_SETTING_MEMBER)
  friend bool operator==(const DnsPublishConfig&, const DnsPublishConfig&) = default;
};

// The [table] name of a section member of Config: dns_publish is written [dns.publish].
constexpr std::string_view section_table(std::string_view member) {
  return member == "dns_publish" ? std::string_view("dns.publish") : member;
}

struct LogConfig {
  DKR_LOG_SETTINGS(DKR_SETTING_MEMBER)
  friend bool operator==(const LogConfig&, const LogConfig&) = default;
};

struct MetricsConfig {
  DKR_METRICS_SETTINGS(DKR_SETTING_MEMBER)
  friend bool operator==(const MetricsConfig&, const MetricsConfig&) = default;
};

// The TTL the rotation policy check assumes for key records (rotation.retire_after must cover it).
inline constexpr std::chrono::seconds kRotationDnsTtl{300};

// [rotation]: the key rotation schedule (lifecycle/).
struct RotationConfig {
  DKR_ROTATION_SETTINGS(DKR_SETTING_MEMBER)
  friend bool operator==(const RotationConfig&, const RotationConfig&) = default;
};

struct AuthUser {
  std::string name;
  // "$pbkdf2-sha256$<iterations>$<b64salt>$<b64hash>". Secret: never log it. The masked value
  // "********" printed by render_effective_config is accepted so that a dump reloads; it matches
  // no password.
  std::string password_hash;
  DomainPatterns domains;  // required: what this user may sign
  friend bool operator==(const AuthUser&, const AuthUser&) = default;
};

struct Config {
  RelayConfig relay;
  UpstreamConfig upstream;
  SigningConfig signing;
  KeystoreConfig keystore;
  Pkcs11Config pkcs11;
  AdminConfig admin;
  DnsConfig dns;
  DnsPublishConfig dns_publish;
  LogConfig log;
  MetricsConfig metrics;
  RotationConfig rotation;
  std::vector<AuthUser> auth_users;
  friend bool operator==(const Config&, const Config&) = default;
};

struct ConfigError {
  std::string file;  // config file or source name; "environment" for DKIM_RELAY_* variables
  int line = 0;      // 1-based; 0 when there is no position (environment, missing file)
  int column = 0;
  std::string key;  // "relay.max_message_size", or the variable name for the environment
  std::string message;

  // `dkim-relay.toml:12:1: relay.max_message_size: expected a size like "25MiB", got "lots"`
  std::string to_string() const;
};

struct LoadResult {
  Config config;
  std::vector<ConfigError> errors;  // every problem found, in source order per source
  // Not errors: the relay starts, and logs each (an inline password in a file others can read; a key
  // under its old name, admin.dns_timeout for dns.timeout).
  std::vector<ConfigError> warnings;
  bool ok() const { return errors.empty(); }
};

// Variable name -> value. Only names starting with "DKIM_RELAY_" are looked at; each must name a
// setting as DKIM_RELAY_<SECTION>_<KEY> (lists comma-separated), except kConfigPathVariable and the
// variable named by admin.token_env, which are left alone.
using Environment = std::map<std::string, std::string, std::less<>>;
// Not a setting: where the app looks for the config file when no path is given on the command line.
inline constexpr std::string_view kConfigPathVariable = "DKIM_RELAY_CONFIG";
// The DKIM_RELAY_* variables of this process.
Environment process_environment();

// The embedded defaults: what the relay runs with when there is no config file.
Config default_config();

// File (or text) + environment overrides + secrets read from files + consistency checks.
// Overloads without an Environment use process_environment().
LoadResult load_config(const std::filesystem::path& file);
LoadResult load_config(const std::filesystem::path& file, const Environment& env);
LoadResult load_config_string(std::string_view toml, std::string_view source_name);
LoadResult load_config_string(std::string_view toml, std::string_view source_name, const Environment& env);
// No file: embedded defaults + environment, with the same checks.
LoadResult load_defaults(const Environment& env);

struct RenderOptions {
  // Printed in place of an empty signing.headers / signing.oversign so the dump shows what is
  // signed. The app passes signer::default_signed_headers() / default_oversigned_headers(); this
  // library does not depend on the signer.
  std::vector<std::string> default_signed_headers;
  std::vector<std::string> default_oversigned_headers;
};

// The effective configuration as TOML that loads back. Secrets are masked: upstream.password and
// auth user password hashes print as "********"; a password read from password_file prints as "".
std::string render_effective_config(const Config& config, const RenderOptions& options = {});

inline constexpr std::string_view kMaskedSecret = "********";

}  // namespace dkr::config
