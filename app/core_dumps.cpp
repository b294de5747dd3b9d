#include "core_dumps.hpp"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace dkr::app {

Result<void> forbid_core_dumps() {
  const rlimit none{0, 0};
  if (::setrlimit(RLIMIT_CORE, &none) != 0)
    return make_error(ErrorCode::internal, std::string("cannot set RLIMIT_CORE to 0: ") + std::strerror(errno));
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
    return make_error(ErrorCode::internal, std::string("cannot clear PR_SET_DUMPABLE: ") + std::strerror(errno));
  return {};
}

}  // namespace dkr::app
