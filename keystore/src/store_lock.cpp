#include "store_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

namespace dkr::keystore {

StoreLock::StoreLock(const std::filesystem::path& root, Mode mode) {
  const std::filesystem::path file = root / ".lock";
  fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd_ < 0) fd_ = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) return;
  const int operation = mode == Mode::Shared ? LOCK_SH : mode == Mode::Exclusive ? LOCK_EX : LOCK_EX | LOCK_NB;
  int rc;
  do {
    rc = ::flock(fd_, operation);
  } while (rc != 0 && errno == EINTR);
  held_ = rc == 0;
}

StoreLock::~StoreLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

}  // namespace dkr::keystore
