#pragma once
// glibc's allocator keeps what a large message freed in its arenas (per thread), so without help
// the relay's resident memory stays at the peak of past traffic rather than what its settings
// bound (spill_threshold per message). MessageSpool (upstream/) reports releasing a large in-memory
// message; RelayServer's trimmer (relay/) then returns free pages to the system once an interval
// passed without one. Both sides meet here because upstream/ must not include relay/.
#include <atomic>
#include <cstddef>

#include <malloc.h>

namespace dkr {

constexpr std::size_t large_release_bytes = 256 * 1024;

namespace memory_release_detail {
inline std::atomic<bool> released{false};
inline std::atomic<bool> pending{false};
}  // namespace memory_release_detail

inline void note_large_release() { memory_release_detail::released.store(true, std::memory_order_relaxed); }

// Called once per interval: returns free arena memory to the system (malloc_trim) when a large
// release was noted before the last interval and none during it; true when it trimmed.
inline bool trim_if_released() {
  using namespace memory_release_detail;
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

}  // namespace dkr
