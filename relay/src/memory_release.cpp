#include "memory_release.hpp"

#include <atomic>

#include <malloc.h>

namespace dkr::relay {

namespace {
std::atomic<bool> released{false};
}  // namespace

void note_large_release() { released.store(true, std::memory_order_relaxed); }

bool trim_if_released() {
  if (!released.exchange(false, std::memory_order_relaxed)) return false;
  ::malloc_trim(0);
  return true;
}

}  // namespace dkr::relay
