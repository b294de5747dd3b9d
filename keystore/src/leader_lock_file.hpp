#pragma once
// An exclusive flock on one file, taken without waiting and kept once taken: the directory store's
// once-per-directory leadership (<directory>/.rotation.lock). The kernel drops it when the holder
// dies, so another process takes it on its next try.
#include <filesystem>

namespace dkr::keystore {

class LeaderLockFile {
 public:
  explicit LeaderLockFile(std::filesystem::path path) : path_(std::move(path)) {}
  ~LeaderLockFile();
  LeaderLockFile(const LeaderLockFile&) = delete;
  LeaderLockFile& operator=(const LeaderLockFile&) = delete;

  // Tries to take the lock unless held already; true while held.
  bool held();

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  bool locked_ = false;
};

}  // namespace dkr::keystore
