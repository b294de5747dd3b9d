#pragma once
// Opens upstream connections and keeps up to `pool_size` idle ones for reuse; idle ones are
// QUIT after `idle_timeout`. Thread-safe: sessions on different threads take and give back.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "upstream/upstream_connection.hpp"
#include "upstream/upstream_settings.hpp"

namespace dkr::upstream {

class UpstreamPool : public std::enable_shared_from_this<UpstreamPool> {
 public:
  // `io` runs the expiry sweep; connections live on the executors given to open().
  UpstreamPool(boost::asio::any_io_executor io, std::shared_ptr<const SmtpUpstreamSettings> settings,
               std::shared_ptr<boost::asio::ssl::context> tls);

  // A fresh connection on `io` (the caller's io_context), ready for MAIL, or nullptr and the reply
  // for the client.
  UpstreamTask<std::pair<std::shared_ptr<UpstreamConnection>, UpstreamOutcome>> open(UpstreamIo io);
  // An idle connection that has not expired, or nullptr; one whose socket lives on the io_context
  // of `io` if there is one, else another moved there (its I/O then stays on the caller's thread).
  std::shared_ptr<UpstreamConnection> take_idle(const boost::asio::any_io_executor& io);
  // A connection between transactions (clean protocol state); kept or QUIT.
  void give_back(std::shared_ptr<UpstreamConnection> connection);
  // QUITs all idle connections (each on its own executor), keeping the pool open.
  void release_idle();
  // QUITs all idle connections and keeps no more.
  void shutdown();

  std::size_t idle_count() const;
  // Idle connections taken by a caller on another io_context and moved there (take_idle).
  std::uint64_t moved_between_threads() const { return moved_.load(std::memory_order_relaxed); }
  bool offers_smtputf8() const { return smtputf8_.load(); }
  bool reachable() const { return reachable_.load(); }

 private:
  struct Idle {
    std::shared_ptr<UpstreamConnection> connection;
    const boost::asio::execution_context* context;
    std::chrono::steady_clock::time_point since;
  };
  void retire(std::shared_ptr<UpstreamConnection> connection);
  void schedule_sweep();  // on sweep_strand_
  void sweep();           // on sweep_strand_

  std::shared_ptr<const SmtpUpstreamSettings> settings_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  std::atomic<bool> smtputf8_{false};
  std::atomic<bool> reachable_{true};
  std::atomic<std::uint64_t> moved_{0};

  mutable std::mutex mutex_;
  std::vector<Idle> idle_;  // oldest first
  bool shut_down_ = false;

  boost::asio::strand<boost::asio::any_io_executor> sweep_strand_;
  boost::asio::steady_timer sweep_timer_;
  // Set on sweep_strand_ while the sweep timer is armed; read by give_back() on any thread, so that
  // returning a connection posts to sweep_strand_ (waking its thread) only when no sweep is due.
  std::atomic<bool> sweep_scheduled_{false};
};

}  // namespace dkr::upstream
