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

struct RelayConfig {
  std::vector<Endpoint> listen{{"127.0.0.1", 2525}};
  std::string hostname;  // empty: the consumer uses gethostname()
  std::uint64_t max_message_size = 25ull * 1024 * 1024;
  std::vector<Cidr> allowed_networks{
      Cidr{{127}, true, 8},                                                // 127.0.0.0/8
      Cidr{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, false, 128},  // ::1/128
  };
  std::string tls_cert;
  std::string tls_key;
  bool require_auth = false;
  bool allow_auth_without_tls = false;
  UnsignedPolicy unsigned_policy = UnsignedPolicy::Tempfail;  // key "unsigned"
  BareLineEndings bare_line_endings = BareLineEndings::Reject;
  std::uint32_t max_recipients = 100;
  std::uint32_t max_messages_per_connection = 100;
  std::uint32_t max_connections = 1000;
  std::uint32_t max_connections_per_ip = 50;
  bool per_ip_limit_applies_to_loopback = false;
  std::uint32_t max_command_line = 512;  // bytes incl. CRLF, RFC 5321 §4.5.3.1.4
  std::uint32_t max_text_line = 1000;    // bytes incl. CRLF, RFC 5321 §4.5.3.1.6
  std::uint32_t max_bad_commands = 10;
  std::uint32_t auth_threads = 1;                                  // threads for AUTH password checks (PBKDF2)
  std::uint32_t auth_queue = 16;                                   // checks waiting for a thread; more: 454 4.7.0
  milliseconds auth_failure_delay_max = std::chrono::seconds(30);  // per-address AUTH failure back-off cap
  milliseconds command_timeout = std::chrono::minutes(5);
  milliseconds data_timeout = std::chrono::minutes(5);
  std::uint32_t min_data_rate = 500;  // bytes/s; 0: no rate limit (as Postfix's smtpd_min_data_rate)
  milliseconds idle_timeout = std::chrono::minutes(5);
  milliseconds stress_idle_timeout = std::chrono::seconds(10);  // from 75 % of max_connections in use
  milliseconds stress_command_timeout = std::chrono::seconds(10);
  milliseconds stress_data_timeout = std::chrono::seconds(10);
  std::uint64_t spill_threshold = 1024ull * 1024;
  std::string spill_directory;  // empty: the system temp dir
  std::uint32_t threads = 0;    // 0: number of cores
  milliseconds shutdown_grace = std::chrono::seconds(30);
  std::vector<RelayClient> clients;  // [[relay.clients]]; first match wins
  friend bool operator==(const RelayConfig&, const RelayConfig&) = default;
};

struct UpstreamConfig {
  UpstreamType type = UpstreamType::Directory;
  std::string host = "127.0.0.1";
  std::uint16_t port = 25;
  StartTls starttls = StartTls::Opportunistic;
  std::string ca_file;
  bool verify_hostname = true;
  std::string username;
  std::string password_file;
  // The effective secret: the inline value, or the contents of password_file read at load.
  // Secret: never log it.
  std::string password;
  std::string directory = "./data/outbox";
  milliseconds connect_timeout = std::chrono::seconds(30);
  milliseconds command_timeout = std::chrono::minutes(5);
  std::uint32_t pool_size = 4;
  friend bool operator==(const UpstreamConfig&, const UpstreamConfig&) = default;
};

struct SigningConfig {
  std::vector<SigningAlgorithm> algorithms{SigningAlgorithm::RsaSha256};
  Canonicalization canonicalization{};
  // Empty means the signer library's default list (signer::default_signed_headers() /
  // default_oversigned_headers()).
  std::vector<std::string> headers;
  std::vector<std::string> oversign;
  milliseconds expire_after{0};  // 0: no x= tag
  bool allow_weak_rsa = false;
  friend bool operator==(const SigningConfig&, const SigningConfig&) = default;
};

enum class KeystoreType { Directory, Postgres };

struct KeystoreConfig {
  KeystoreType type = KeystoreType::Directory;
  std::string path = "./data/keys";
  std::string selector_pattern = "s%Y%m{seq}";  // strftime fields plus {seq} = a, b, c...
  bool watch = true;
  std::string demo_domain = "example.com";  // empty: none
  // type = "postgres": the fleet keystore.
  std::string dsn;       // libpq connection string or URI (a secret: may hold a password)
  std::string dsn_file;  // read into dsn
  std::string kek_file;  // 32 random bytes, base64: the key-encryption key of the private keys
  std::string schema = "dkim_relay";
  milliseconds poll_interval{30000};  // full resync, in case a notification was lost
  friend bool operator==(const KeystoreConfig&, const KeystoreConfig&) = default;
};

enum class AdminRole { Read, Rotate, Admin };
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
  bool enabled = true;
  Endpoint listen{"127.0.0.1", 8025};
  std::string token_file = "./data/admin.token";
  std::string token_env;  // name of a variable holding the token; wins over token_file when set
  std::string tls_cert;
  std::string tls_key;
  std::optional<Endpoint> dns_resolver;  // nullopt: system resolver; port defaults to 53
  milliseconds dns_timeout = std::chrono::seconds(5);
  milliseconds dns_check_interval = std::chrono::seconds(60);
  bool per_domain_metrics = false;
  std::uint64_t max_body_size = 64ull * 1024;
  std::uint32_t max_connections = 64;
  milliseconds idle_timeout = std::chrono::seconds(60);
  bool allow_plaintext = false;          // a non-loopback listen without TLS is refused unless set
  std::vector<AdminTokenConfig> tokens;  // [[admin.tokens]], besides the token_file/token_env one
  friend bool operator==(const AdminConfig&, const AdminConfig&) = default;
};

struct LogConfig {
  LogLevel level = LogLevel::Info;
  LogFormat format = LogFormat::Text;
  friend bool operator==(const LogConfig&, const LogConfig&) = default;
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
  AdminConfig admin;
  LogConfig log;
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
