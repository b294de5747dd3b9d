#pragma once
// Each SMTP connection holds a socket, and one in DATA may hold an upstream socket and a spill file
// too: a soft RLIMIT_NOFILE of 1024 (a common container default) would refuse connections long
// before max_connections. `serve` raises the soft limit to the hard one at start, as nginx's
// worker_rlimit_nofile or systemd's advice for services do, and warns when even that is short.
#include <cstdint>

namespace dkr::app {

void raise_open_file_limit(std::uint32_t max_connections);

}  // namespace dkr::app
