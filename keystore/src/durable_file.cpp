#include "durable_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <utility>

namespace dkr::keystore {
namespace {

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

Error file_error(std::string_view what, const std::filesystem::path& path, int error) {
  return make_error(std::string(what) + " " + path.string() + ": " + errno_text(error));
}

std::atomic<unsigned> temp_counter{0};

}  // namespace

std::string errno_text(int error) { return std::strerror(error); }

bool is_temp_file(std::string_view file_name) {
  return file_name.size() > 1 && file_name.front() == '.' && file_name.find(".tmp.") != std::string_view::npos;
}

Result<void> fsync_directory(const std::filesystem::path& dir) {
  FileDescriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return file_error("cannot open directory", dir, errno);
  if (::fsync(fd.get()) != 0) return file_error("cannot fsync directory", dir, errno);
  return {};
}

Result<void> write_file_durably(const std::filesystem::path& target, std::string_view content, mode_t mode) {
  const std::filesystem::path dir = target.parent_path();
  const std::filesystem::path temp =
      dir / (std::string(".") + target.filename().string() + ".tmp." + std::to_string(::getpid()) + "." +
             std::to_string(temp_counter.fetch_add(1)));
  FileDescriptor fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (fd.get() < 0) return file_error("cannot create", temp, errno);
  auto fail = [&](std::string_view what, int error) {
    ::unlink(temp.c_str());
    return file_error(what, temp, error);
  };
  if (::fchmod(fd.get(), mode) != 0) return fail("cannot chmod", errno);
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd.get(), content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("cannot write", errno);
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return fail("cannot fsync", errno);
  if (::close(fd.release()) != 0) return fail("cannot close", errno);
  if (::rename(temp.c_str(), target.c_str()) != 0) return fail("cannot rename", errno);
  return fsync_directory(dir);
}

Result<void> make_directory_durably(const std::filesystem::path& dir, mode_t mode) {
  if (::mkdir(dir.c_str(), mode) != 0) return file_error("cannot create directory", dir, errno);
  if (::chmod(dir.c_str(), mode) != 0) return file_error("cannot chmod", dir, errno);
  return fsync_directory(dir.parent_path());
}

Result<void> remove_file(const std::filesystem::path& file) {
  if (::unlink(file.c_str()) != 0 && errno != ENOENT) return file_error("cannot remove", file, errno);
  return {};
}

Result<std::string> read_file(const std::filesystem::path& file, mode_t* mode) {
  FileDescriptor fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) return file_error("cannot open", file, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return file_error("cannot stat", file, errno);
  if (!S_ISREG(st.st_mode)) return make_error(file.string() + " is not a regular file");
  if (mode != nullptr) *mode = st.st_mode & 07777;
  std::string content;
  content.resize(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (true) {
    if (got == content.size()) content.resize(content.size() + 4096);
    const ssize_t n = ::read(fd.get(), content.data() + got, content.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return file_error("cannot read", file, errno);
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  content.resize(got);
  return content;
}

}  // namespace dkr::keystore
