#pragma once
// What all sessions of one server share. Held by shared_ptr so that a session finishing late
// (its last handler destroyed with the io_context) still finds it.
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ssl/context.hpp>

#include "auth_failure_backoff.hpp"
#include "auth_worker_pool.hpp"
#include "connection_table.hpp"
#include "keystore/key_store.hpp"
#include "relay/relay_metrics.hpp"
#include "relay/relay_settings.hpp"
#include "relay/upstream_vocabulary.hpp"
#include "signing_pool.hpp"
#include "stress_mode.hpp"

namespace dkr::relay {

struct SessionContext {
  SessionContext(RelaySettings s, std::shared_ptr<keystore::KeyStore> k, std::shared_ptr<Upstream> u, RelayMetrics& m)
      : settings(std::move(s)),
        keys(std::move(k)),
        upstream(std::move(u)),
        metrics(m),
        connections(settings.max_connections, settings.max_connections_per_ip),
        stress(settings.max_connections, m),
        auth_backoff(settings.auth_failure_delay_max) {}

  RelaySettings settings;
  std::string hostname;  // settings.hostname or gethostname()
  std::shared_ptr<keystore::KeyStore> keys;
  std::shared_ptr<Upstream> upstream;
  RelayMetrics& metrics;
  std::shared_ptr<boost::asio::ssl::context> tls;  // null: no STARTTLS
  AuthWorkerPool* auth_pool = nullptr;             // PBKDF2 runs here, off the I/O threads (server-owned)
  SigningPool* signing_pool = nullptr;             // external keys (PKCS#11) sign here (server-owned); null: inline
  ConnectionTable connections;
  StressMode stress;
  AuthFailureBackoff auth_backoff;
};

}  // namespace dkr::relay
