#include "upstream/message_spool.hpp"

#include "common/memory_release.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace dkr::upstream {

namespace {

// An anonymous file: O_TMPFILE has no name at all, so nothing is left behind even on a crash;
// mkstemp + immediate unlink is the fallback for file systems without it.
int open_anonymous_file(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
  std::string name = (dir / "dkim-relay-spool-XXXXXX").string();
  fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd >= 0) ::unlink(name.c_str());
  return fd;
}

bool write_to_spill_file(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

constexpr std::size_t first_block = 4 * 1024;
constexpr std::size_t block_limit = 64 * 1024;

}  // namespace

MessageSpool::MessageSpool(std::uint64_t memory_threshold, std::filesystem::path spill_directory)
    : threshold_(memory_threshold), dir_(std::move(spill_directory)) {}

MessageSpool::~MessageSpool() {
  if (fd_ >= 0) ::close(fd_);
  if (fd_ < 0 && size_ >= large_release_bytes) note_large_release();
}

void MessageSpool::append_to_memory(std::string_view bytes) {
  while (!bytes.empty()) {
    if (blocks_.empty() || blocks_.back().size() == blocks_.back().capacity()) {
      const std::size_t capacity = blocks_.empty() ? first_block : std::min(2 * blocks_.back().capacity(), block_limit);
      blocks_.emplace_back().reserve(std::max(capacity, std::min(bytes.size(), block_limit)));
    }
    std::string& block = blocks_.back();
    const std::size_t n = std::min(bytes.size(), block.capacity() - block.size());
    block.append(bytes.substr(0, n));
    bytes.remove_prefix(n);
  }
}

Result<void> MessageSpool::append(std::string_view bytes) {
  if (fd_ < 0 && size_ + bytes.size() > threshold_) {
    if (dir_.empty()) {  // looked up only now: most messages never spill (it costs a stat)
      std::error_code ec;
      dir_ = std::filesystem::temp_directory_path(ec);
      if (ec) dir_ = "/tmp";
    }
    int fd = open_anonymous_file(dir_);
    if (fd < 0) return make_error("cannot create spool file in " + dir_.string() + ": " + std::strerror(errno));
    for (const std::string& block : blocks_) {
      if (!write_to_spill_file(fd, block)) {
        int saved = errno;
        ::close(fd);
        return make_error(std::string("cannot write spool file: ") + std::strerror(saved));
      }
    }
    fd_ = fd;
    std::vector<std::string>().swap(blocks_);
  }
  if (fd_ >= 0) {
    if (!write_to_spill_file(fd_, bytes))
      return make_error(std::string("cannot write spool file: ") + std::strerror(errno));
  } else {
    append_to_memory(bytes);
  }
  size_ += bytes.size();
  return {};
}

std::optional<std::vector<std::string_view>> MessageSpool::in_memory() const {
  if (fd_ >= 0) return std::nullopt;
  return std::vector<std::string_view>(blocks_.begin(), blocks_.end());
}

Result<void> MessageSpool::read(std::uint64_t offset, std::size_t max, std::string& out) const {
  out.clear();
  if (offset >= size_) return {};
  std::size_t count = static_cast<std::size_t>(std::min<std::uint64_t>(max, size_ - offset));
  if (fd_ < 0) {
    out.reserve(count);
    for (const std::string& block : blocks_) {
      if (out.size() == count) break;
      if (offset >= block.size()) {
        offset -= block.size();
        continue;
      }
      const std::size_t n = std::min(block.size() - static_cast<std::size_t>(offset), count - out.size());
      out.append(block, static_cast<std::size_t>(offset), n);
      offset = 0;
    }
    return {};
  }
  out.resize(count);
  std::size_t done = 0;
  while (done < count) {
    ssize_t n = ::pread(fd_, out.data() + done, count - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      out.clear();
      return make_error(std::string("cannot read spool file: ") + (n < 0 ? std::strerror(errno) : "short file"));
    }
    done += static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace dkr::upstream
