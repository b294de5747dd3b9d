#include "leader_lock_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

namespace dkr::keystore {

LeaderLockFile::~LeaderLockFile() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

bool LeaderLockFile::held() {
  if (locked_) return true;
  if (fd_ < 0) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) {
      spdlog::warn("lifecycle: cannot open {}: the rotation schedule does not run here", path_.string());
      return false;
    }
  }
  locked_ = ::flock(fd_, LOCK_EX | LOCK_NB) == 0;
  return locked_;
}

}  // namespace dkr::keystore
