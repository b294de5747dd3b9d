#pragma once
// Plain settings of the admin API, filled by the caller (the app maps its config onto them), so that
// admin/ depends on neither config/ nor relay/.
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "admin/token_scope.hpp"

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
  std::chrono::milliseconds read_timeout{30000};  // a request must arrive within it (the idle timeout)
  std::size_t max_connections = 64;               // connections beyond it are closed at once
};

// What the admin API needs from the relay, as plain callbacks. Any may be left empty.
struct AdminHooks {
  std::function<std::string()> relay_metrics;    // Prometheus text appended to /metrics
  std::function<bool()> upstream_reachable;      // part of /readyz; must not block for long
  std::function<bool()> keystore_ready;          // part of /readyz: a shared keystore has done its first load
  std::function<bool()> private_keys_available;  // part of /readyz: the PKCS#11 token can sign
  // A fleet shares one keystore: periodic jobs (activate after DNS) run only where this is true.
  std::function<bool()> runs_periodic_jobs;
};

}  // namespace dkr::admin
