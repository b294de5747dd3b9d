#pragma once
// Where AUTH password checks (PBKDF2, deliberately slow) run: a few threads of their own with a
// bounded queue, never an I/O thread. A full queue refuses the job at once, so a flood of AUTH
// attempts costs the relay at most `threads` cores and the flooders get 454 instead of a wait.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace dkr::relay {

class AuthWorkerPool {
 public:
  AuthWorkerPool(unsigned threads, std::size_t queue_limit);
  ~AuthWorkerPool();
  AuthWorkerPool(const AuthWorkerPool&) = delete;
  AuthWorkerPool& operator=(const AuthWorkerPool&) = delete;

  void start();
  // Jobs still queued are dropped (destroyed, not run); running ones finish first.
  void stop();
  // Which queue a check waits in (auth_failure_backoff.hpp decides): checks from addresses that
  // logged in recently run first and have a queue of their own, then addresses without history,
  // then addresses whose AUTH failed. A flood of wrong passwords then delays the app's login by at
  // most the check in progress, and cannot fill the queue the app's checks wait in.
  enum class Standing { Trusted, Unknown, Suspect };
  // False when every thread is busy and the job's queue is full (queue_limit jobs for trusted
  // addresses; queue_limit for the others together, of which suspects may fill only half), or the
  // pool is stopped: the caller answers 454 4.7.0 at once.
  bool try_post(std::function<void()> job, Standing standing = Standing::Unknown);

 private:
  void work();

  const unsigned threads_;
  const std::size_t queue_limit_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> trusted_;   // run first
  std::deque<std::function<void()>> queue_;     // then these
  std::deque<std::function<void()>> suspects_;  // then these
  std::vector<std::thread> workers_;
  std::size_t idle_ = 0;  // workers waiting for a job
  bool running_ = false;
};

}  // namespace dkr::relay
