#include "memory_release.hpp"

#include <atomic>

#include <malloc.h>

namespace dkr::relay {

namespace {
std::atomic<bool> released{false};
std::atomic<bool> pending{false};
}  // namespace

void note_large_release() { released.store(true, std::memory_order_relaxed); }

bool trim_if_released() {
  // Not while large messages keep coming: their memory is reused at once, and giving it back only
  // to fault it in again cost more kernel time than the message (bench/relay, 1 MB: stime x3).
  if (released.exchange(false, std::memory_order_relaxed)) {
    pending.store(true, std::memory_order_relaxed);
    return false;
  }
  if (!pending.exchange(false, std::memory_order_relaxed)) return false;
  ::malloc_trim(0);
  return true;
}

}  // namespace dkr::relay
