#include "auth_worker_pool.hpp"

#include <algorithm>

namespace dkr::relay {

AuthWorkerPool::AuthWorkerPool(unsigned threads, std::size_t queue_limit)
    : threads_(std::max(1u, threads)), queue_limit_(queue_limit) {}

AuthWorkerPool::~AuthWorkerPool() { stop(); }

void AuthWorkerPool::start() {
  std::lock_guard lock(mutex_);
  if (running_) return;
  running_ = true;
  for (unsigned i = 0; i < threads_; ++i) workers_.emplace_back([this] { work(); });
}

void AuthWorkerPool::stop() {
  std::deque<std::function<void()>> dropped;
  {
    std::lock_guard lock(mutex_);
    running_ = false;
    dropped.swap(queue_);
    for (auto* queue : {&trusted_, &suspects_}) {
      for (auto& job : *queue) dropped.push_back(std::move(job));
      queue->clear();
    }
  }
  wake_.notify_all();
  for (auto& worker : workers_) worker.join();
  workers_.clear();
  // `dropped` goes out of scope here, outside the lock: a job may hold the last reference to a session.
}

bool AuthWorkerPool::try_post(std::function<void()> job, Standing standing) {
  {
    std::lock_guard lock(mutex_);
    if (!running_) return false;
    // A free thread takes the job at once; beyond those, the job's queue must have room.
    const std::size_t others = queue_.size() + suspects_.size();
    switch (standing) {
      case Standing::Trusted:
        if (trusted_.size() >= queue_limit_ + idle_) return false;
        trusted_.push_back(std::move(job));
        break;
      case Standing::Unknown:
        if (others >= queue_limit_ + idle_) return false;
        queue_.push_back(std::move(job));
        break;
      case Standing::Suspect:
        if (others >= queue_limit_ + idle_ || suspects_.size() >= queue_limit_ / 2 + idle_) return false;
        suspects_.push_back(std::move(job));
        break;
    }
  }
  wake_.notify_one();
  return true;
}

void AuthWorkerPool::work() {
  while (true) {
    std::function<void()> job;
    {
      std::unique_lock lock(mutex_);
      ++idle_;
      wake_.wait(lock, [this] { return !running_ || !trusted_.empty() || !queue_.empty() || !suspects_.empty(); });
      --idle_;
      if (!running_) return;
      auto& from = !trusted_.empty() ? trusted_ : !queue_.empty() ? queue_ : suspects_;
      job = std::move(from.front());
      from.pop_front();
    }
    job();
  }
}

}  // namespace dkr::relay
