#include "rotation_leader.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <memory>

#include <spdlog/spdlog.h>

namespace dkr::app {
namespace {

class LockFile {
 public:
  explicit LockFile(std::filesystem::path path) : path_(std::move(path)) {}
  ~LockFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  LockFile(const LockFile&) = delete;
  LockFile& operator=(const LockFile&) = delete;

  bool held() {
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

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  bool locked_ = false;
};

}  // namespace

std::function<bool()> rotation_leadership(const OpenedKeystore& opened) {
  if (opened.postgres != nullptr) return [fleet = opened.postgres] { return fleet->runs_periodic_jobs(); };
  if (opened.directory != nullptr) {
    auto lock = std::make_shared<LockFile>(opened.directory->path() / ".rotation.lock");
    return [lock] { return lock->held(); };
  }
  return [] { return true; };
}

}  // namespace dkr::app
