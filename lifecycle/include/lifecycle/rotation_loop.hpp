#pragma once
// Runs RotationScheduler rounds every check interval on a thread of its own (probes and key store
// writes block), only while `runs_here` says this process leads the fleet (the PostgreSQL advisory
// lock, or the directory store's lock file). Rounds never overlap; stop() waits for the running one.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "lifecycle/rotation_scheduler.hpp"

namespace dkr::lifecycle {

class RotationLoop {
 public:
  RotationLoop(RotationScheduler& scheduler, std::chrono::milliseconds interval, std::function<bool()> runs_here);
  ~RotationLoop();
  RotationLoop(const RotationLoop&) = delete;
  RotationLoop& operator=(const RotationLoop&) = delete;

  void start();
  void stop();

 private:
  void run();

  RotationScheduler& scheduler_;
  std::chrono::milliseconds interval_;
  std::function<bool()> runs_here_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace dkr::lifecycle
