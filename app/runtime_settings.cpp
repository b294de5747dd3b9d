#include "runtime_settings.hpp"

#include <string_view>

namespace dkr::app {

namespace {

signer::Canon to_signer(config::Canon canon) {
  return canon == config::Canon::Simple ? signer::Canon::Simple : signer::Canon::Relaxed;
}

signer::Algorithm to_signer(config::SigningAlgorithm algorithm) {
  return algorithm == config::SigningAlgorithm::Ed25519Sha256 ? signer::Algorithm::Ed25519Sha256
                                                              : signer::Algorithm::RsaSha256;
}

// The [relay] keys of config/settings_table.hpp that RelaySettings holds under the same name and a
// type they assign to are copied; the others need a conversion in relay_settings() and are named
// here, so that a new key is either copied or fails to compile until it is converted.
constexpr bool converted_by_hand(std::string_view key) {
  return key == "listen" || key == "unsigned" || key == "bare_line_endings";
}

template <class Settings, class Relay>
void copy_same_named(Settings& s, const Relay& c) {
#define DKR_COPY_SAME_NAMED(section, member, key, ...)                                                \
  if constexpr (requires { s.member = c.member; }) {                                                  \
    if constexpr (!converted_by_hand(key)) s.member = c.member;                                       \
  } else {                                                                                            \
    static_assert(converted_by_hand(key) || !sizeof(Settings*), "relay." key ": convert it by hand"); \
  }
  DKR_RELAY_SETTINGS(DKR_COPY_SAME_NAMED)
#undef DKR_COPY_SAME_NAMED
}

}  // namespace

Result<relay::RelaySettings> relay_settings(const config::Config& config) {
  const auto& c = config.relay;
  relay::RelaySettings s;
  s.listen.clear();
  for (const auto& e : c.listen) s.listen.push_back({e.host, e.port});
  copy_same_named(s, c);
  switch (c.unsigned_policy) {
    case config::UnsignedPolicy::Pass:
      s.unsigned_policy = relay::UnsignedPolicy::Pass;
      break;
    case config::UnsignedPolicy::Tempfail:
      s.unsigned_policy = relay::UnsignedPolicy::Tempfail;
      break;
    case config::UnsignedPolicy::Reject:
      s.unsigned_policy = relay::UnsignedPolicy::Reject;
      break;
  }
  s.bare_line_endings = c.bare_line_endings == config::BareLineEndings::Normalize ? relay::BareLineEndings::Normalize
                                                                                  : relay::BareLineEndings::Reject;

  const auto& g = config.signing;
  s.signing.algorithms.clear();
  for (auto a : g.algorithms) s.signing.algorithms.push_back(to_signer(a));
  s.signing.canonicalization = {to_signer(g.canonicalization.header), to_signer(g.canonicalization.body)};
  s.signing.headers = g.headers;
  s.signing.oversign = g.oversign;
  s.signing.expire_after = std::chrono::duration_cast<std::chrono::seconds>(g.expire_after);
  for (const auto& u : config.auth_users) s.auth_users.push_back({u.name, u.password_hash, u.domains});
  for (const auto& client : config.relay.clients) {
    relay::RelayClient rule;
    rule.networks = client.networks;
    rule.domains = client.domains;
    s.clients.push_back(std::move(rule));
  }
  return s;
}

keystore::DirectoryKeyStoreOptions keystore_options(const config::Config& config) {
  keystore::DirectoryKeyStoreOptions o;
  o.path = config.keystore.path;
  o.selector_pattern = config.keystore.selector_pattern;
  o.allow_weak_rsa = config.signing.allow_weak_rsa;
  return o;
}

admin::AdminSettings admin_settings(const config::Config& config, std::string token) {
  const auto& a = config.admin;
  admin::AdminSettings s;
  s.listen = a.listen.to_string();
  s.token = std::move(token);
  s.tls_cert = a.tls_cert;
  s.tls_key = a.tls_key;
  if (config.dns.resolver) s.dns_resolver = config.dns.resolver->to_string();
  s.dns_timeout = config.dns.timeout;
  s.dns_check_interval = config.dns.check_interval;
  s.per_domain_metrics = a.per_domain_metrics;
  s.max_body_size = static_cast<std::size_t>(a.max_body_size);
  s.max_connections = a.max_connections;
  s.read_timeout = a.idle_timeout;
  if (config.metrics.enabled) s.metrics_listen = config.metrics.listen.to_string();
  s.preauth_timeout = a.preauth_timeout;
  s.max_connections_per_address = a.max_connections_per_address;
  s.loopback_reserved_connections = a.loopback_reserved_connections;
  return s;
}

upstream::SmtpUpstreamSettings upstream_settings(const config::Config& config) {
  const auto& u = config.upstream;
  upstream::SmtpUpstreamSettings s;
  s.host = u.host;
  s.port = u.port;
  switch (u.starttls) {
    case config::StartTls::None:
      s.starttls = upstream::StartTlsPolicy::None;
      break;
    case config::StartTls::Opportunistic:
      s.starttls = upstream::StartTlsPolicy::Opportunistic;
      break;
    case config::StartTls::Required:
      s.starttls = upstream::StartTlsPolicy::Required;
      break;
  }
  s.ca_file = u.ca_file;
  s.verify_hostname = u.verify_hostname;
  s.username = u.username;
  s.password = u.password;
  s.helo_name = config.relay.hostname.empty() ? "localhost" : config.relay.hostname;
  s.connect_timeout = u.connect_timeout;
  s.command_timeout = u.command_timeout;
  s.pool_size = u.pool_size;
  return s;
}

lifecycle::RotationPolicy rotation_policy(const config::Config& config) {
  using std::chrono::duration_cast;
  using std::chrono::seconds;
  const auto& r = config.rotation;
  lifecycle::RotationPolicy policy;
  policy.enabled = r.enabled;
  policy.interval = duration_cast<seconds>(r.interval);
  policy.retire_after = duration_cast<seconds>(r.retire_after);
  policy.delete_after = duration_cast<seconds>(r.delete_after);
  policy.dns_timeout = duration_cast<seconds>(r.dns_timeout);
  return policy;
}

lifecycle::PolicyLimits rotation_limits(const config::Config& config) {
  lifecycle::PolicyLimits limits;
  limits.dns_ttl = config::kRotationDnsTtl;
  limits.check_interval = std::chrono::duration_cast<std::chrono::seconds>(config.dns.check_interval);
  limits.allow_short_intervals = config.rotation.allow_short_intervals;
  return limits;
}

}  // namespace dkr::app
