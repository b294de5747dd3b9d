#pragma once
// Invariant checks for fuzz targets: a violated invariant aborts, which libFuzzer records as a
// crash with its reproducer, the same as a sanitizer report.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace dkr::fuzz {

[[noreturn]] inline void fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "FUZZ INVARIANT VIOLATED: %s\n", what);
  if (!detail.empty()) {
    std::fprintf(stderr, "  detail (%zu bytes): ", detail.size());
    for (unsigned char c : detail.substr(0, 400)) {
      if (c >= 0x20 && c < 0x7f && c != '\\') {
        std::fputc(c, stderr);
      } else {
        std::fprintf(stderr, "\\x%02x", c);
      }
    }
    std::fputc('\n', stderr);
  }
  std::abort();
}

inline void check(bool ok, const char* what, std::string_view detail = {}) {
  if (!ok) fail(what, detail);
}

// Cuts `text` into consecutive pieces (empty ones included: they are legal input too) whose
// lengths come from a small PRNG seeded by the fuzz input, so that the fuzzer steers the split
// points without the seed files having to spell them out. `max_chunk` >= 1.
inline std::vector<std::string_view> random_split(std::string_view text, std::uint64_t seed, std::size_t max_chunk) {
  std::vector<std::string_view> pieces;
  std::uint64_t state = seed;
  std::size_t pos = 0;
  while (pos < text.size()) {
    state += 0x9e3779b97f4a7c15ull;  // splitmix64
    std::uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    const std::size_t len = std::min<std::size_t>(z % (max_chunk + 1), text.size() - pos);
    pieces.push_back(text.substr(pos, len));
    pos += len;
  }
  return pieces;
}

inline std::size_t max_chunk_for(unsigned char selector) {
  static constexpr std::size_t kSizes[] = {1, 2, 3, 7, 16, 40, 100, 1000};
  return kSizes[selector % 8];
}

inline bool has_bare_cr_or_lf(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && (i + 1 >= s.size() || s[i + 1] != '\n')) return true;
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return true;
  }
  return false;
}

}  // namespace dkr::fuzz
