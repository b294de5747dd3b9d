#pragma once
// glibc's allocator keeps what a large message freed in its arenas (per thread), so without help
// the relay's resident memory stays at the peak of past traffic rather than what its settings
// bound (spill_threshold per message). MessageSpool reports releasing a large in-memory message;
// RelayServer's trimmer then returns free pages to the system once an interval passed without one.
#include <cstddef>

namespace dkr::relay {

constexpr std::size_t large_release_bytes = 256 * 1024;

void note_large_release();
// Called once per interval: returns free arena memory to the system (malloc_trim) when a large
// release was noted before the last interval and none during it; true when it trimmed.
bool trim_if_released();

}  // namespace dkr::relay
