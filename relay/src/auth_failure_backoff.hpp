#pragma once
// Failed AUTH attempts, shared by all sessions, counted per client address AND user name: after a
// failed check, the 535 of the next failure of that user from that address waits 1 s, 2 s, 4 s ... up
// to a maximum, and once it failed max_bad_commands times, a further failure ends the connection
// with 421. A success of that user from that address clears its count. The back-off delays answers
// to failed checks, never a check itself, so a login that succeeds waits for one PBKDF2 run only,
// whatever others failed from the same address (in the sidecar shape, the app's own address). A
// count is forgotten after a quiet period.
//
// Per address, a success makes the address trusted and failures alone make it suspect, for the AUTH
// pool's queue order (auth_worker_pool.hpp): the app that logged in before keeps its place while
// strangers flood, and the bounded pool caps the CPU any number of attempts can take.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "auth_worker_pool.hpp"

namespace dkr::relay {

class AuthFailureBackoff {
 public:
  using Clock = std::chrono::steady_clock;

  explicit AuthFailureBackoff(std::chrono::milliseconds max_delay, std::size_t max_addresses = 65536);

  // How long the answer to a failed check of `user` from `address` waits (0 before any failure).
  std::chrono::milliseconds delay_for(const std::string& address, std::string_view user,
                                      Clock::time_point now = Clock::now());
  // Records a failure; returns the failures of `user` from `address` so far (within the quiet period).
  std::uint32_t failed(const std::string& address, std::string_view user, Clock::time_point now = Clock::now());
  // Clears `user`'s failures from `address` and makes the address trusted.
  void succeeded(const std::string& address, std::string_view user, Clock::time_point now = Clock::now());
  // Trusted: a success within the quiet period; Suspect: failures and no such success.
  AuthWorkerPool::Standing standing(const std::string& address, Clock::time_point now = Clock::now());

 private:
  struct Failures {
    std::uint32_t count = 0;
    Clock::time_point last;
  };
  struct Address {
    Clock::time_point last_failure;
    bool failed = false;
    std::optional<Clock::time_point> success;
  };
  static std::string key(const std::string& address, std::string_view user);
  void forget_old(Clock::time_point now);

  std::chrono::milliseconds max_delay_;
  std::chrono::milliseconds quiet_period_;
  std::size_t max_entries_;
  std::mutex mutex_;
  std::unordered_map<std::string, Failures> failures_;  // address NUL user
  std::unordered_map<std::string, Address> addresses_;
};

}  // namespace dkr::relay
