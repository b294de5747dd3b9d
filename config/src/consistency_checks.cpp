// Rules that involve more than one key, and secrets read from files.
#include <cerrno>
#include <fstream>
#include <sstream>
#include <system_error>

#include "sources.hpp"

namespace dkr::config::detail {
namespace {

void check_tls_pair(LoadState& state, std::string_view section, const std::string& cert, const std::string& key,
                    std::string_view cert_name = "tls_cert", std::string_view key_name = "tls_key") {
  if (cert.empty() == key.empty()) return;
  const std::string prefix = std::string(section) + ".";
  const std::string set_key = prefix + std::string(cert.empty() ? key_name : cert_name);
  const std::string missing_key = prefix + std::string(cert.empty() ? cert_name : key_name);
  state.diagnostics().error(state.origin_of(set_key), "is set but " + missing_key + " is not; set both or neither");
}

// The extra certificate is served beside relay.tls_cert, never instead of it.
void check_extra_certificate(LoadState& state) {
  const auto& relay = state.config.relay;
  check_tls_pair(state, "relay", relay.tls_extra_cert, relay.tls_extra_key, "tls_extra_cert", "tls_extra_key");
  if (!relay.tls_extra_cert.empty() && relay.tls_cert.empty()) {
    state.diagnostics().error(state.origin_of("relay.tls_extra_cert"),
                              "is set but relay.tls_cert is not; the extra certificate is served beside it");
  }
}

void check_auth(LoadState& state) {
  const auto& relay = state.config.relay;
  if (!relay.require_auth) return;
  if (state.config.auth_users.empty()) {
    state.diagnostics().error(state.origin_of("relay.require_auth"), "is true but no [[auth.users]] are defined");
  }
  if (relay.tls_cert.empty() && !relay.allow_auth_without_tls) {
    state.diagnostics().error(state.origin_of("relay.require_auth"),
                              "is true but AUTH is only offered over TLS and relay.tls_cert is not set; "
                              "configure TLS or set relay.allow_auth_without_tls = true");
  }
}

void check_admin_token(LoadState& state) {
  const auto& admin = state.config.admin;
  if (admin.enabled && admin.token_file.empty() && admin.token_env.empty()) {
    state.diagnostics().error(state.origin_of("admin.token_file"),
                              "is empty and admin.token_env is not set; the admin API needs a token");
  }
}

// A bearer token sent in clear text over a network anyone can sniff is no access control.
void check_admin_plaintext(LoadState& state) {
  const auto& admin = state.config.admin;
  if (!admin.enabled || !admin.tls_cert.empty() || admin.allow_plaintext) return;
  const auto& host = admin.listen.host;
  const auto address = parse_cidr(host);
  const bool loopback = host == "localhost" || (address && address->is_v4 && address->address[0] == 127) ||
                        (address && !address->is_v4 && address->to_string() == "::1/128");
  if (loopback) return;
  state.diagnostics().error(state.origin_of("admin.listen"),
                            "listens on " + admin.listen.to_string() +
                                ", beyond loopback, without TLS; set admin.tls_cert and admin.tls_key, "
                                "or admin.allow_plaintext = true on a network you trust");
}

// Reads upstream.password_file into upstream.password.
void read_password_file(LoadState& state) {
  auto& upstream = state.config.upstream;
  if (upstream.password_file.empty()) return;
  const Origin origin = state.origin_of("upstream.password_file");
  if (!upstream.password.empty()) {
    state.diagnostics().error(origin, "and upstream.password are both set; use one of them");
    return;
  }
  std::ifstream in(upstream.password_file, std::ios::binary);
  if (!in) {
    const int saved_errno = errno;
    state.diagnostics().error(
        origin, "cannot read \"" + upstream.password_file + "\": " + std::generic_category().message(saved_errno));
    return;
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  std::string secret = contents.str();
  if (in.bad()) {
    state.diagnostics().error(origin, "cannot read \"" + upstream.password_file + "\"");
    return;
  }
  // Editors and `echo` add a final newline that is not part of the password.
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.empty()) {
    state.diagnostics().error(origin, "\"" + upstream.password_file + "\" is empty");
    return;
  }
  upstream.password = std::move(secret);
}

// type = "postgres" needs a DSN (inline, from dsn_file, or DKIM_RELAY_KEYSTORE_DSN) and a KEK file.
void check_postgres_keystore(LoadState& state) {
  auto& keystore = state.config.keystore;
  if (keystore.type != KeystoreType::Postgres) return;
  if (!keystore.dsn_file.empty()) {
    const Origin origin = state.origin_of("keystore.dsn_file");
    if (!keystore.dsn.empty()) {
      state.diagnostics().error(origin, "and keystore.dsn are both set; use one of them");
      return;
    }
    std::ifstream in(keystore.dsn_file, std::ios::binary);
    if (!in) {
      const int saved_errno = errno;
      state.diagnostics().error(
          origin, "cannot read \"" + keystore.dsn_file + "\": " + std::generic_category().message(saved_errno));
      return;
    }
    std::ostringstream contents;
    contents << in.rdbuf();
    std::string dsn = contents.str();
    while (!dsn.empty() && (dsn.back() == '\n' || dsn.back() == '\r')) dsn.pop_back();
    if (dsn.empty()) {
      state.diagnostics().error(origin, "\"" + keystore.dsn_file + "\" is empty");
      return;
    }
    keystore.dsn = std::move(dsn);
  }
  if (keystore.dsn.empty()) {
    state.diagnostics().error(state.origin_of("keystore.type"),
                              "is \"postgres\" but keystore.dsn, keystore.dsn_file and DKIM_RELAY_KEYSTORE_DSN are all "
                              "unset; give the database's connection string");
  }
  if (keystore.kek_file.empty()) {
    state.diagnostics().error(state.origin_of("keystore.type"),
                              "is \"postgres\" but keystore.kek_file is not set; create one with "
                              "`dkim-relay keys new-kek FILE`");
  }
}

std::string seconds_text(std::chrono::milliseconds value) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(value).count()) + "s";
}

// A policy that cannot work. `dns_ttl`: how long resolvers may cache the old record (the TTL the
// key records are published with); a retiring key must stay in DNS at least that long after the
// switch, plus one check interval for the switch to be noticed.
void check_rotation_policy(LoadState& state, std::chrono::seconds dns_ttl) {
  const auto& rotation = state.config.rotation;
  const std::chrono::milliseconds floor = dns_ttl + state.config.dns.check_interval;
  if (rotation.retire_after < floor) {
    state.diagnostics().error(state.origin_of("rotation.retire_after"),
                              "is " + seconds_text(rotation.retire_after) + ", shorter than the DNS TTL (" +
                                  seconds_text(dns_ttl) + ") plus dns.check_interval (" +
                                  seconds_text(state.config.dns.check_interval) +
                                  "): verifiers could still hold the old key's record when it is revoked; "
                                  "make it at least " +
                                  seconds_text(floor));
  }
  if (rotation.interval < std::chrono::hours(24) && !rotation.allow_short_intervals) {
    state.diagnostics().error(state.origin_of("rotation.interval"),
                              "is " + seconds_text(rotation.interval) +
                                  ", under 1 day; set rotation.allow_short_intervals = true for tests and demos");
  }
}

// type = "rfc2136" needs somewhere to send updates, a zone to put them in, and a key to sign them.
void check_dns_publish(LoadState& state) {
  const auto& publish = state.config.dns_publish;
  if (publish.type != DnsPublishType::Rfc2136) return;
  const Origin type = state.origin_of("dns.publish.type");
  if (!publish.server) state.diagnostics().error(type, "is \"rfc2136\" but dns.publish.server is not set");
  if (publish.zone.empty()) state.diagnostics().error(type, "is \"rfc2136\" but dns.publish.zone is not set");
  if (publish.tsig_key_file.empty()) {
    state.diagnostics().error(type,
                              "is \"rfc2136\" but dns.publish.tsig_key_file is not set; create one with "
                              "`tsig-keygen -a hmac-sha256 NAME`");
  }
  if (publish.selectors.size() < 2) {
    state.diagnostics().error(state.origin_of("dns.publish.selectors"),
                              "needs two selectors at least: rotation publishes the next key in the idle one");
  }
}

// private_keys = "pkcs11" needs the module, the token and its PIN.
void check_pkcs11(LoadState& state) {
  if (state.config.keystore.private_keys != PrivateKeys::Pkcs11) return;
  const auto& pkcs11 = state.config.pkcs11;
  const std::pair<const char*, const std::string*> required[] = {{"pkcs11.module", &pkcs11.module},
                                                                 {"pkcs11.token_label", &pkcs11.token_label},
                                                                 {"pkcs11.pin_file", &pkcs11.pin_file}};
  for (const auto& [key, value] : required) {
    if (value->empty()) {
      state.diagnostics().error(state.origin_of("keystore.private_keys"),
                                std::string("is \"pkcs11\" but ") + key + " is not set");
    }
  }
}

}  // namespace

Origin LoadState::origin_of(std::string_view dotted_key) const {
  if (auto it = origins.find(dotted_key); it != origins.end()) return it->second;
  return {source_name, 0, 0, std::string(dotted_key)};
}

void run_consistency_checks(LoadState& state) {
  check_tls_pair(state, "relay", state.config.relay.tls_cert, state.config.relay.tls_key);
  check_tls_pair(state, "admin", state.config.admin.tls_cert, state.config.admin.tls_key);
  check_extra_certificate(state);
  check_auth(state);
  check_admin_token(state);
  check_admin_plaintext(state);
  read_password_file(state);
  check_postgres_keystore(state);
  // Tests and demos (allow_short_intervals) publish their records with TTLs of a second or so.
  check_rotation_policy(state, state.config.rotation.allow_short_intervals ? std::chrono::seconds(0) : kRotationDnsTtl);
  check_dns_publish(state);
  check_pkcs11(state);
}

}  // namespace dkr::config::detail
