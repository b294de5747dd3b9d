#include "open_file_limit.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

namespace dkr::app {

void raise_open_file_limit(std::uint32_t max_connections) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    const rlim_t before = limit.rlim_cur;
    limit.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
      spdlog::warn("cannot raise the open file limit from {}: {}", before, std::strerror(errno));
      ::getrlimit(RLIMIT_NOFILE, &limit);
    }
  }
  // A connection in DATA: client socket, upstream socket, spill file; plus listeners, logs, keys.
  const rlim_t needed = static_cast<rlim_t>(max_connections) * 3 + 64;
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < needed) {
    spdlog::warn(
        "open file limit {} is below {} (3 per connection for relay.max_connections = {}): raise the hard "
        "limit (ulimit -Hn, docker --ulimit nofile=...) or lower max_connections",
        limit.rlim_cur, needed, max_connections);
  }
}

}  // namespace dkr::app
