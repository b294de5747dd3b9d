#pragma once
// Plain settings of the admin API, filled by the caller (the app maps its config onto them), so that
// admin/ depends on neither config/ nor relay/. The defaults repeat config/settings_table.hpp's;
// tests/app/runtime_settings_test.cpp keeps them equal.
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "admin/token_scope.hpp"
#include "dns/record_publisher.hpp"
#include "lifecycle/domain_policy.hpp"
#include "lifecycle/rotation_policy.hpp"
#include "lifecycle/rotation_scheduler.hpp"

namespace dkr::admin {

struct AdminSettings {
  std::string listen = "127.0.0.1:8025";  // "ip:port" or "[ipv6]:port"; port 0 picks a free one
  std::string token;                      // the resolved bearer token itself (not a path): admin for "*"
  std::vector<ScopedToken> tokens;        // [[admin.tokens]]: further tokens with a name, role and domains
  std::string tls_cert;                   // PEM chain path; TLS is on when both paths are set
  std::string tls_key;
  std::string dns_resolver;  // "ip[:port]"; empty = the system resolvers
  std::chrono::milliseconds dns_timeout{5000};
  std::chrono::milliseconds dns_check_interval{60000};
  bool per_domain_metrics = false;  // off by default: a label per domain can explode cardinality
  std::size_t max_body_size = 64 * 1024;
  std::size_t max_header_size = 8 * 1024;
  std::chrono::milliseconds read_timeout{60000};     // a request must arrive within it (the idle timeout)
  std::chrono::milliseconds preauth_timeout{10000};  // the same, until the connection showed a valid token
  std::size_t max_connections = 64;                  // connections beyond it are closed at once
  std::size_t max_connections_per_address = 8;
  std::size_t loopback_reserved_connections = 8;  // of max_connections, only for loopback clients
  // [metrics] listen: a second, plain-HTTP listener serving the endpoint table's on_metrics_listener
  // rows (/metrics, /livez, /readyz, /healthz) without a token; empty: none.
  std::string metrics_listen;
};

// What the admin API needs from the relay, as plain callbacks. Any may be left empty.
struct AdminHooks {
  std::function<std::string()> relay_metrics;  // Prometheus text appended to /metrics
  std::function<bool()> upstream_reachable;    // part of /readyz; must not block for long
  std::function<bool()> keystore_ready;        // part of /readyz: a shared keystore has done its first load
  // Part of /readyz: keys the keystore refused at load ("domain selector: why"), e.g. a row whose DNS
  // record does not authenticate under the KEK. Shown, not fatal: the other domains still sign.
  std::function<std::vector<std::string>()> keystore_refusals;
  std::function<bool()> private_keys_available;  // part of /readyz: the PKCS#11 token can sign
  // A fleet shares one keystore: periodic jobs (activate after DNS) run only where this is true.
  std::function<bool()> runs_periodic_jobs;
  // What the rotation scheduler's last DNS check found for a staged key (empty: nothing known here).
  std::function<std::optional<lifecycle::DnsWait>(const std::string& domain, const std::string& selector)> dns_wait;
  std::function<std::int64_t()> clock;        // unix seconds; the system clock when empty
  lifecycle::RotationPolicy rotation_policy;  // for each key's next scheduled step
  // Delegated domains ([dns.publish] type = "rfc2136"): the zone and the slots; no slots = off.
  std::string delegation_zone;
  std::vector<std::string> delegation_slots;
  // The leader's last publishing problem for a domain (empty: none known here).
  std::function<std::optional<lifecycle::PublishProblem>(const std::string& domain)> publish_problem;
  // Removing a delegated domain revokes, then deletes, its records through this (blocking calls:
  // the API runs them on a thread of their own).
  std::shared_ptr<dns::RecordPublisher> publisher;
  lifecycle::PolicyLimits rotation_limits;  // what PUT /v1/domains/{d}/rotation must respect
};

}  // namespace dkr::admin
