#pragma once
#include <exception>

namespace dkr::upstream {

// The completion token of a detached co_spawn: an exception that escapes the coroutine is a bug, so
// it is thrown again on the io_context's thread instead of being dropped with the coroutine.
inline void rethrow_coroutine_exception(std::exception_ptr e) {
  if (e) std::rethrow_exception(e);
}

}  // namespace dkr::upstream
