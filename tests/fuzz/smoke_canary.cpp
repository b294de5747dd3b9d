// A fuzz target that is broken on purpose, one way per seed ("crash", "asan", "ubsan", "leak"), so
// that ctest can prove smoke.sh turns each kind of finding into a failure. Not a real target: its
// name keeps it out of run.sh's fuzz_*.cpp list.
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace {

// Kept outside the optimiser's sight so that the bugs below are not folded away.
volatile int g_sink;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  if (in == "crash") std::abort();
  if (in == "asan") {
    char* buffer = new char[4];
    g_sink = buffer[g_sink + 4];  // heap-buffer-overflow
    delete[] buffer;
  }
  if (in == "ubsan") {
    volatile int big = INT_MAX;
    g_sink = big + 1;  // signed overflow
  }
  if (in == "leak") {
    char* lost = new char[64];
    std::memset(lost, 1, 64);
    g_sink = lost[g_sink & 63];
  }
  return 0;
}
