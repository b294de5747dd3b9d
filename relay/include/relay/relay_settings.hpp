#pragma once
// What the relay needs to know, as plain values. The application maps its configuration onto this
// struct, so that the relay does not depend on the config library.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "relay/network_range.hpp"
#include "signer/algorithm.hpp"

namespace dkr::relay {

enum class UnsignedPolicy { Pass, Tempfail, Reject };  // a message for which no active key exists
enum class BareLineEndings { Reject, Normalize };      // lone CR or LF inside DATA

struct ListenAddress {
  std::string host;        // "127.0.0.1", "::1", "0.0.0.0", "::" (IPv6 without brackets)
  std::uint16_t port = 0;  // 0 = any free port (tests)
  friend bool operator==(const ListenAddress&, const ListenAddress&) = default;
};

// What a client may sign: "example.com", "*.example.com" (subdomains only) or "*"; lowercase.
using DomainPatterns = std::vector<std::string>;

struct AuthUser {
  std::string name;
  std::string password_hash;  // "$pbkdf2-sha256$<iterations>$<b64salt>$<b64hash>"; secret
  DomainPatterns domains;
  friend bool operator==(const AuthUser&, const AuthUser&) = default;
};

// A network client without AUTH, from one of `networks`, may sign only `domains`.
struct RelayClient {
  std::vector<Cidr> networks;
  DomainPatterns domains;
  friend bool operator==(const RelayClient&, const RelayClient&) = default;
};

struct SigningSettings {
  std::vector<signer::Algorithm> algorithms{signer::Algorithm::RsaSha256};
  signer::Canonicalization canonicalization{};
  std::vector<std::string> headers;   // empty = signer::default_signed_headers()
  std::vector<std::string> oversign;  // empty = signer::default_oversigned_headers()
  std::chrono::seconds expire_after{0};
  friend bool operator==(const SigningSettings&, const SigningSettings&) = default;
};

struct RelaySettings {
  std::vector<ListenAddress> listen{{"127.0.0.1", 2525}};
  std::string hostname;  // empty = gethostname()
  std::uint64_t max_message_size = 25ull * 1024 * 1024;
  std::vector<Cidr> allowed_networks = default_allowed_networks();
  std::string tls_cert;  // PEM chain file; empty = no STARTTLS
  std::string tls_key;
  std::string tls_extra_cert;  // a second chain of the other key type (RSA beside ECDSA); empty = none
  std::string tls_extra_key;
  bool require_auth = false;
  bool allow_auth_without_tls = false;
  UnsignedPolicy unsigned_policy = UnsignedPolicy::Tempfail;
  BareLineEndings bare_line_endings = BareLineEndings::Reject;
  std::uint32_t max_recipients = 100;
  std::uint32_t max_messages_per_connection = 100;
  std::uint32_t max_connections = 1000;
  std::uint32_t max_connections_per_ip = 50;
  // All of a sidecar's app connections come from loopback: a cap per address would cap the app.
  bool per_ip_limit_applies_to_loopback = false;
  std::uint32_t max_command_line = 512;  // bytes incl. CRLF
  std::uint32_t max_text_line = 1000;    // bytes incl. CRLF
  std::uint32_t max_bad_commands = 10;
  // AUTH password checks (auth_worker_pool.hpp, auth_failure_backoff.hpp).
  std::uint32_t auth_threads = 1;
  std::uint32_t auth_queue = 16;  // checks waiting beyond this: 454 4.7.0 at once
  std::chrono::milliseconds auth_failure_delay_max = std::chrono::seconds(30);
  // Signatures by keys outside the process (PKCS#11): signing_pool.hpp. 0 (not reachable from the
  // config file, whose floor is 1): sign them on the I/O thread too, for benchmarks (bench/pkcs11).
  std::uint32_t signing_threads = 4;
  std::uint32_t signing_queue = 256;  // signatures waiting beyond this: 451 4.3.0 at once
  std::chrono::milliseconds command_timeout = std::chrono::minutes(5);  // inside a transaction
  std::chrono::milliseconds data_timeout = std::chrono::minutes(5);     // between reads in DATA
  // DATA as a whole must arrive within data_timeout + bytes received / min_data_rate (0: no limit).
  std::uint32_t min_data_rate = 500;                                 // bytes/s
  std::chrono::milliseconds idle_timeout = std::chrono::minutes(5);  // between transactions
  // Stress mode (Postfix's model): from 75 % of max_connections in use until below 50 %, these
  // replace the three timeouts above, and DATA must keep up min_data_rate from its first byte.
  std::chrono::milliseconds stress_idle_timeout = std::chrono::seconds(10);
  std::chrono::milliseconds stress_command_timeout = std::chrono::seconds(10);
  std::chrono::milliseconds stress_data_timeout = std::chrono::seconds(10);
  std::uint64_t spill_threshold = 1024ull * 1024;
  std::string spill_directory;  // empty = the system temp dir
  std::uint32_t threads = 0;    // 0 = number of cores
  std::chrono::milliseconds shutdown_grace = std::chrono::seconds(30);

  // Not configurable: the header section is held in memory to find From: before signing starts.
  std::uint64_t max_header_section = 1024ull * 1024;

  SigningSettings signing;
  std::vector<AuthUser> auth_users;
  // First match wins; allowed_networks clients that match none may sign any domain.
  std::vector<RelayClient> clients;

  // Whole-value comparison: tests/app checks that the app's settings from a default config are
  // RelaySettings{}, so that these defaults and config's cannot drift apart.
  friend bool operator==(const RelaySettings&, const RelaySettings&) = default;

  static std::vector<Cidr> default_allowed_networks() { return {*parse_cidr("127.0.0.0/8"), *parse_cidr("::1/128")}; }
};

}  // namespace dkr::relay
