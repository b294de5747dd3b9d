#include "signing_pool.hpp"

#include <algorithm>

namespace dkr::relay {

SigningPool::SigningPool(unsigned threads, std::size_t queue_limit)
    : threads_(std::max(1u, threads)), queue_limit_(queue_limit) {}

SigningPool::~SigningPool() { stop(); }

void SigningPool::start() {
  std::lock_guard lock(mutex_);
  running_ = true;
}

void SigningPool::stop() {
  std::deque<Job> dropped;
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(mutex_);
    running_ = false;
    dropped.swap(queue_);
    workers.swap(workers_);
  }
  wake_.notify_all();
  for (auto& worker : workers) worker.join();
  // `dropped` goes out of scope here, outside the lock: a job may hold the last reference to a session.
}

bool SigningPool::try_post(Job job) {
  {
    std::lock_guard lock(mutex_);
    if (!running_) return false;
    // Jobs waiting beyond the threads not running one: a new thread while allowed, else the queue.
    if (queue_.size() + busy_ >= workers_.size() && workers_.size() < threads_) {
      workers_.emplace_back([this] { work(); });
    }
    if (queue_.size() >= queue_limit_ + (workers_.size() - busy_)) return false;
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
  return true;
}

void SigningPool::work() {
  while (true) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return !running_ || !queue_.empty(); });
      if (!running_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
      ++busy_;
    }
    Completion completion = job();
    job = nullptr;
    {
      std::lock_guard lock(mutex_);
      --busy_;
    }
    if (completion) completion();
  }
}

}  // namespace dkr::relay
