#include "keystore/key_store_watcher.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <set>

#include "keystore/domain_name.hpp"

namespace dkr::keystore {
namespace {

constexpr std::uint32_t kRootEvents = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR;
constexpr std::uint32_t kDomainEvents = IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
                                        IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

using Clock = std::chrono::steady_clock;

// inotify watch descriptors of the domain folders, so an event names its domain.
class WatchTable {
 public:
  WatchTable(int fd, std::filesystem::path root) : fd_(fd), root_(std::move(root)) {}

  void watch_domain(const std::string& domain) {
    if (!validate_domain(domain) || by_domain_.contains(domain)) return;
    const int wd = ::inotify_add_watch(fd_, (root_ / domain).c_str(), kDomainEvents);
    if (wd < 0) {
      if (errno == ENOSPC && !warned_) {
        warned_ = true;
        spdlog::warn(
            "keystore watcher: inotify watch limit reached; changes inside some domain "
            "folders are only seen on SIGHUP (raise fs.inotify.max_user_watches)");
      }
      return;
    }
    by_wd_[wd] = domain;
    by_domain_[domain] = wd;
  }

  void forget(int wd) {
    if (const auto it = by_wd_.find(wd); it != by_wd_.end()) {
      by_domain_.erase(it->second);
      by_wd_.erase(it);
    }
  }

  const std::string* domain_of(int wd) const {
    const auto it = by_wd_.find(wd);
    return it == by_wd_.end() ? nullptr : &it->second;
  }

 private:
  int fd_;
  std::filesystem::path root_;
  std::map<int, std::string> by_wd_;
  std::map<std::string, int> by_domain_;
  bool warned_ = false;
};

}  // namespace

Result<std::unique_ptr<KeyStoreWatcher>> KeyStoreWatcher::start(DirectoryKeyStore& store,
                                                                KeyStoreWatcherOptions options) {
  const int inotify_fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd < 0) return make_error(std::string("inotify_init1: ") + std::strerror(errno));
  const int stop_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (stop_fd < 0) {
    const int error = errno;
    ::close(inotify_fd);
    return make_error(std::string("eventfd: ") + std::strerror(error));
  }
  if (::inotify_add_watch(inotify_fd, store.path().c_str(), kRootEvents) < 0) {
    const int error = errno;
    ::close(inotify_fd);
    ::close(stop_fd);
    return make_error("cannot watch " + store.path().string() + ": " + std::strerror(error));
  }
  return std::unique_ptr<KeyStoreWatcher>(new KeyStoreWatcher(store, std::move(options), inotify_fd, stop_fd));
}

KeyStoreWatcher::KeyStoreWatcher(DirectoryKeyStore& store, KeyStoreWatcherOptions options, int inotify_fd, int stop_fd)
    : store_(store), options_(std::move(options)), inotify_fd_(inotify_fd), stop_fd_(stop_fd) {
  thread_ = std::thread([this] { run(); });
}

KeyStoreWatcher::~KeyStoreWatcher() {
  const std::uint64_t one = 1;
  if (::write(stop_fd_, &one, sizeof one) < 0) spdlog::error("keystore watcher: cannot stop");
  if (thread_.joinable()) thread_.join();
  ::close(inotify_fd_);
  ::close(stop_fd_);
}

void KeyStoreWatcher::run() {
  WatchTable watches(inotify_fd_, store_.path());
  // Watches are added before the first look at the folder, so nothing created in between is missed.
  std::error_code ec;
  for (const auto& item : std::filesystem::directory_iterator(store_.path(), ec)) {
    if (item.is_directory(ec)) watches.watch_domain(item.path().filename().string());
  }

  std::set<std::string> pending;
  bool everything = false;
  bool waiting = false;  // events seen since the last reload
  Clock::time_point first_event{};
  Clock::time_point last_event{};
  alignas(inotify_event) char buffer[16384];

  while (true) {
    int timeout = -1;
    if (waiting) {
      const auto deadline = std::min(last_event + options_.debounce, first_event + options_.max_delay);
      timeout = static_cast<int>(std::max<std::int64_t>(
          0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count()));
    }
    pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    const int ready = ::poll(fds, 2, timeout);
    if (ready < 0 && errno != EINTR) {
      spdlog::error("keystore watcher: poll: {}", std::strerror(errno));
      return;
    }
    if (fds[1].revents != 0) return;
    if (ready > 0 && (fds[0].revents & POLLIN) != 0) {
      ssize_t length;
      while ((length = ::read(inotify_fd_, buffer, sizeof buffer)) > 0) {
        for (char* at = buffer; at < buffer + length;) {
          const auto* event = reinterpret_cast<const inotify_event*>(at);
          at += sizeof(inotify_event) + event->len;
          const std::string name = event->len > 0 ? std::string(event->name) : std::string();
          if ((event->mask & IN_Q_OVERFLOW) != 0) {
            everything = true;
          } else if ((event->mask & IN_IGNORED) != 0) {
            watches.forget(event->wd);
          } else if (const std::string* domain = watches.domain_of(event->wd)) {
            if (!name.empty() && name.front() == '.') continue;  // temp files: wait for the rename
            pending.insert(*domain);
          } else if (!name.empty() && name.front() != '.') {
            // In the root: a domain folder appeared or went away.
            if ((event->mask & (IN_CREATE | IN_MOVED_TO)) != 0) watches.watch_domain(name);
            pending.insert(name);
          } else {
            continue;
          }
          last_event = Clock::now();
          if (!waiting) first_event = last_event;
          waiting = true;
        }
      }
    }
    if (waiting &&
        (Clock::now() >= last_event + options_.debounce || Clock::now() >= first_event + options_.max_delay)) {
      Result<void> result = everything
                                ? store_.reload()
                                : store_.reload_domains(std::vector<std::string>(pending.begin(), pending.end()));
      pending.clear();
      everything = false;
      waiting = false;
      ++reloads_;
      if (options_.on_reload)
        options_.on_reload(result);
      else if (!result)
        spdlog::error("keystore reload: {}", result.error().message);
    }
  }
}

}  // namespace dkr::keystore
