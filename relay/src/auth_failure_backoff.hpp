#pragma once
// Failed AUTH attempts per client address, shared by all sessions: each new attempt from an address
// that failed before waits 1 s, 2 s, 4 s ... up to a maximum before its password is even checked
// (so the delay costs the relay no CPU), and once an address has failed max_bad_commands times, a
// further failure ends the connection with 421. Success does not reset the count (the address may
// be shared with an attacker); an address is forgotten after a quiet period. A success makes the
// address trusted for the AUTH pool's queue order (auth_worker_pool.hpp): the app that logged in
// before keeps its place while strangers flood.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <optional>
#include <unordered_map>

#include "auth_worker_pool.hpp"

namespace dkr::relay {

class AuthFailureBackoff {
 public:
  using Clock = std::chrono::steady_clock;

  explicit AuthFailureBackoff(std::chrono::milliseconds max_delay, std::size_t max_addresses = 65536);

  // How long an AUTH attempt from `address` waits before its check.
  std::chrono::milliseconds delay_for(const std::string& address, Clock::time_point now = Clock::now());
  // Records a failure; returns the address's failures so far (within the quiet period).
  std::uint32_t failed(const std::string& address, Clock::time_point now = Clock::now());
  void succeeded(const std::string& address, Clock::time_point now = Clock::now());
  // Trusted: a success within the quiet period; Suspect: failures and no such success.
  AuthWorkerPool::Standing standing(const std::string& address, Clock::time_point now = Clock::now());

 private:
  struct Entry {
    std::uint32_t failures = 0;
    Clock::time_point last;  // of the last failure, or of the success that made the entry
    std::optional<Clock::time_point> success;
  };
  void forget_old(Clock::time_point now);

  std::chrono::milliseconds max_delay_;
  std::chrono::milliseconds quiet_period_;
  std::size_t max_addresses_;
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace dkr::relay
