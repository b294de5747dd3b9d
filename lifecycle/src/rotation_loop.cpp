#include "lifecycle/rotation_loop.hpp"

#include <spdlog/spdlog.h>

namespace dkr::lifecycle {

RotationLoop::RotationLoop(RotationScheduler& scheduler, std::chrono::milliseconds interval,
                           std::function<bool()> runs_here)
    : scheduler_(scheduler), interval_(interval), runs_here_(std::move(runs_here)) {}

RotationLoop::~RotationLoop() { stop(); }

void RotationLoop::start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void RotationLoop::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RotationLoop::run() {
  bool led = false;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    const bool leads = !runs_here_ || runs_here_();
    if (leads != led) {
      spdlog::info("lifecycle: this process {} the key rotation schedule", leads ? "now runs" : "no longer runs");
      led = leads;
    }
    if (leads) {
      try {
        const RoundReport r = scheduler_.run_round();
        if (r.staged + r.activated + r.revoked + r.deleted + r.failed > 0) {
          spdlog::info(
              "lifecycle: round: {} staged, {} activated, {} revoked, {} deleted, {} waiting for DNS, {} failed",
              r.staged, r.activated, r.revoked, r.deleted, r.waiting, r.failed);
        }
      } catch (const std::exception& e) {
        spdlog::error("lifecycle: round failed: {}", e.what());
      }
    }
    lock.lock();
    wake_.wait_for(lock, interval_, [this] { return stopping_; });
  }
}

}  // namespace dkr::lifecycle
