#pragma once
// Reloads a DirectoryKeyStore when another process (the `keys` CLI, an operator, config
// management) changes its files. Runs its own thread: inotify on the root folder and each domain
// folder, debounced so a burst of writes causes one reload of just the domains touched.
//
// Every domain folder takes one inotify watch. When the kernel limit
// (fs.inotify.max_user_watches) is reached, the remaining domains are not watched and a warning
// is logged; SIGHUP -> reload() still picks their changes up.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>

#include "keystore/directory_key_store.hpp"

namespace dkr::keystore {

struct KeyStoreWatcherOptions {
  // Quiet period after the last event before reloading; bursts longer than max_delay reload anyway.
  std::chrono::milliseconds debounce{200};
  std::chrono::milliseconds max_delay{2000};
  // Called on the watcher thread after each reload (e.g. to log problems).
  std::function<void(const Result<void>&)> on_reload;
};

class KeyStoreWatcher {
 public:
  static Result<std::unique_ptr<KeyStoreWatcher>> start(DirectoryKeyStore& store, KeyStoreWatcherOptions options = {});
  ~KeyStoreWatcher();  // stops and joins the thread
  KeyStoreWatcher(const KeyStoreWatcher&) = delete;
  KeyStoreWatcher& operator=(const KeyStoreWatcher&) = delete;

  std::uint64_t reload_count() const { return reloads_.load(); }

 private:
  KeyStoreWatcher(DirectoryKeyStore& store, KeyStoreWatcherOptions options, int inotify_fd, int stop_fd);
  void run();

  DirectoryKeyStore& store_;
  KeyStoreWatcherOptions options_;
  int inotify_fd_;
  int stop_fd_;  // eventfd: written by the destructor to wake the thread
  std::atomic<std::uint64_t> reloads_{0};
  std::thread thread_;
};

}  // namespace dkr::keystore
