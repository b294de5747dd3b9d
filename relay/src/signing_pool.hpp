#pragma once
// Where signatures whose private key lives outside the process (a PKCS#11 token, maybe behind
// p11-kit server or a network HSM) are made: a few threads of their own with a bounded queue, never
// an I/O thread, because C_Sign may wait milliseconds on a socket and every other session on that
// I/O thread would wait with it. In-process keys sign inline (relay_transaction.cpp says why).
//
// Threads start at the first job, so a relay without external keys runs none. A full queue refuses
// the job at once; the caller tempfails the message.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace dkr::relay {

class SigningPool {
 public:
  SigningPool(unsigned threads, std::size_t queue_limit);
  ~SigningPool();
  SigningPool(const SigningPool&) = delete;
  SigningPool& operator=(const SigningPool&) = delete;

  void start();
  // Jobs still queued are dropped (destroyed, not run); running ones finish first.
  void stop();
  // A job does its work and returns what to do with the result (post it to the session), which the
  // pool runs once the thread counts as free again: whoever gets the result may post the next job
  // at once without finding the pool full.
  using Completion = std::function<void()>;
  using Job = std::function<Completion()>;
  // False when every thread runs a job and queue_limit jobs wait already, or the pool is stopped.
  bool try_post(Job job);

 private:
  void work();

  const unsigned threads_;
  const std::size_t queue_limit_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  std::vector<std::thread> workers_;
  std::size_t busy_ = 0;  // threads running a job
  bool running_ = false;
};

}  // namespace dkr::relay
