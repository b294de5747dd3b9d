#pragma once
// A core file of `serve` or `keys` would hold private keys, the admin token and the upstream
// password: both turn core dumps off at start unless --allow-core-dumps asks for them (debugging).
#include "common/result.hpp"

namespace dkr::app {

inline constexpr const char* kAllowCoreDumpsFlag = "allow-core-dumps";

// RLIMIT_CORE 0 (soft and hard, so nothing later in the process can raise it) and
// PR_SET_DUMPABLE 0 (no core even if a limit is raised again, no ptrace by other users).
Result<void> forbid_core_dumps();

}  // namespace dkr::app
