#pragma once
// flock on <root>/.lock: serialises writers of different processes sharing one store directory.
#include <filesystem>

namespace dkr::keystore {

class StoreLock {
 public:
  enum class Mode { Shared, Exclusive, TryExclusive };
  // Never fails hard: a read-only store (no lock file, no permission to create one) is used
  // without locking, as nothing can write it through us anyway.
  StoreLock(const std::filesystem::path& root, Mode mode);
  ~StoreLock();
  StoreLock(const StoreLock&) = delete;
  StoreLock& operator=(const StoreLock&) = delete;

  bool held() const { return held_; }

 private:
  int fd_ = -1;
  bool held_ = false;
};

}  // namespace dkr::keystore
