#pragma once
// Postfix's stress mode for the SMTP listener: when 75 % of max_connections are in use, sessions
// switch to short timeouts (relay.stress_*_timeout) and DATA must keep up min_data_rate from its
// start, until fewer than 50 % are in use. Slow or silent clients then cannot hold the slots that
// the app's next connection needs; a connection arriving with every slot taken closes the client
// that has stalled longest on its own input.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>

#include <boost/asio/ip/address.hpp>

#include "relay/relay_metrics.hpp"

namespace dkr::relay {

class ConnectionTable;
struct SessionContext;

class StressMode {
 public:
  StressMode(std::uint32_t max_connections, RelayMetrics& metrics);

  // After every admission or release, with the connections then open. True when the mode changed
  // (logged and counted here; the caller tells the sessions: apply_stress_change()).
  bool update(std::uint32_t open);
  bool active() const { return active_.load(std::memory_order_relaxed); }

 private:
  std::mutex mutex_;
  std::uint32_t max_;
  std::uint32_t on_at_;      // 75 %
  std::uint32_t off_below_;  // 50 %
  std::atomic<bool> active_{false};
  RelayMetrics& metrics_;
};

// A new connection from `client`: counted against max_connections and (unless loopback is exempt)
// max_connections_per_ip; at max_connections under stress, the longest-stalled session makes room.
// False: refused (the session answers 421 and closes).
bool admit_connection(SessionContext& context, const boost::asio::ip::address& client);
void release_connection(SessionContext& context, const boost::asio::ip::address& client);

// Every live session re-arms a wait in progress with the timeouts of the current mode.
void apply_stress_change(const ConnectionTable& table);

// Closes the session that has stalled longest on its own input, if it stalled for at least
// `min_stall` (an active client is never the one). True when one is being closed.
bool evict_longest_stalled(const ConnectionTable& table, std::chrono::milliseconds min_stall);

}  // namespace dkr::relay
