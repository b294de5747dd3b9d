#pragma once
// Every interval, looks up the DNS record of each staged selector marked activate_after_dns and
// activates it once DNS serves our key. Rounds never overlap: the next one is scheduled after the
// previous one's lookups are all answered. With a shared keystore only the replica for which
// `runs_here` answers true does the rounds, so a fleet checks and activates once, not once per relay.
#include <chrono>
#include <functional>
#include <memory>

#include <boost/asio/io_context.hpp>

#include "admin/admin_metrics.hpp"
#include "dns/resolver.hpp"
#include "keystore/key_store.hpp"

namespace dkr::admin {

class DnsActivationPoller {
 public:
  // Runs a blocking key store call off the I/O thread (the server's worker).
  using RunBlocking = std::function<void(std::function<void()>)>;

  DnsActivationPoller(boost::asio::io_context& io, keystore::KeyStore& store, std::shared_ptr<dns::Resolver> resolver,
                      std::chrono::milliseconds interval, RunBlocking run_blocking, AdminCounters& counters,
                      std::function<bool()> runs_here = {});
  ~DnsActivationPoller();
  DnsActivationPoller(const DnsActivationPoller&) = delete;
  DnsActivationPoller& operator=(const DnsActivationPoller&) = delete;

  void start();
  void stop();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace dkr::admin
