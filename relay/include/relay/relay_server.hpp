#pragma once
// The inbound SMTP server: listeners, worker threads, connection limits and graceful shutdown.
//
// Threading: `threads` io_contexts with one thread each; accepted connections are spread over them
// round robin, and a session's upstream connection runs on its session's io_context. A shared
// io_context would balance uneven connections better, but measured per message it cost a queue
// lock and a cross-thread wake-up for each socket event (bench/relay). Each session keeps a strand
// because AUTH checks and shutdown post to it from other threads.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "keystore/key_store.hpp"
#include "relay/relay_metrics.hpp"
#include "relay/relay_settings.hpp"
#include "relay/upstream_vocabulary.hpp"
#include "common/result.hpp"

namespace dkr::relay {

class RelayServer {
 public:
  // `metrics` must outlive the server.
  RelayServer(RelaySettings settings, std::shared_ptr<keystore::KeyStore> keys, std::shared_ptr<Upstream> upstream,
              RelayMetrics& metrics);
  ~RelayServer();  // stop(0) when still running
  RelayServer(const RelayServer&) = delete;
  RelayServer& operator=(const RelayServer&) = delete;

  // Loads the TLS certificate, binds every listen address and starts the threads.
  Result<void> start();

  // Stops accepting; sessions waiting for a command get 421 4.3.2 and are closed, sessions inside a
  // transaction may finish it (and then get 421) until `grace` has passed; then every connection is
  // closed and the threads are joined. Blocks until done. Callable from any thread but not from
  // one of the server's own; idempotent.
  void stop(std::chrono::milliseconds grace);

  bool running() const;
  std::vector<boost::asio::ip::tcp::endpoint> endpoints() const;  // the bound addresses (port 0 resolved)
  std::vector<std::string> listening() const;                     // "127.0.0.1:2525", "[::1]:2525"

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dkr::relay
