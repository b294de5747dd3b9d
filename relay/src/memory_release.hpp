#pragma once
// glibc's allocator keeps what a large message freed in its arenas (per thread), so without help
// the relay's resident memory stays at the peak of past traffic rather than what its settings
// bound (spill_threshold per message). MessageSpool reports releasing a large in-memory message;
// RelayServer's trimmer then returns free pages to the system, at most once per interval.
#include <cstddef>

namespace dkr::relay {

constexpr std::size_t large_release_bytes = 256 * 1024;

void note_large_release();
// Returns free arena memory to the system (malloc_trim) when a large release was noted since the
// last call; true when it trimmed.
bool trim_if_released();

}  // namespace dkr::relay
