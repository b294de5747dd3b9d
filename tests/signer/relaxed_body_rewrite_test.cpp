// The vector variants of the relaxed body rewrite against the scalar one, byte for byte, on inputs
// built to hit their edges: runs longer than a vector, runs and CRLFs across the 16/32-byte block
// edges, CR as the last byte of a block, every byte value (tab-to-space and whitespace tests must
// not catch other bytes). The scalar variant itself is checked against the RFC reference through
// the canonicalizer (body_canonicalization_test.cpp) and directly below.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "relaxed_body_rewrite.hpp"

using namespace dkr::signer;

namespace {

// Rewrites all but the last two bytes (the lookahead).
std::string run(RelaxedRewrite rewrite, const std::string& in) {
  if (in.size() < 2) return {};
  std::vector<char> out(in.size());
  char* end = rewrite(in.data(), in.size() - 2, out.data());
  REQUIRE(end >= out.data());
  REQUIRE(end <= out.data() + in.size() - 2);
  return std::string(out.data(), end);
}

std::vector<RelaxedRewrite> vector_variants() {
  std::vector<RelaxedRewrite> variants;
#if defined(__x86_64__)
  variants.push_back(relaxed_rewrite_sse2);
  if (avx2_available()) variants.push_back(relaxed_rewrite_avx2);
#endif
  variants.push_back(best_relaxed_rewrite());
  return variants;
}

}  // namespace

TEST_CASE("scalar rewrite: each byte is decided by the two after it") {
  CHECK(run(relaxed_rewrite_scalar, "a  b\t\tc \r\nd\t\re  ") == "a b c\r\nd \re");
  CHECK(run(relaxed_rewrite_scalar, " \r\r\n") == " \r");                    // WSP before a bare CR stays
  CHECK(run(relaxed_rewrite_scalar, "\x09\x01\x20\x89xx") == " \x01 \x89");  // only SP and HTAB are whitespace
  std::vector<char> out(8);
  const char body_end[] = "a \t\r b \r";
  const std::string kept(out.data(), relaxed_rewrite_body_end(body_end, sizeof body_end - 1, out.data()));
  CHECK(kept == "a \r b \r");
  const char trailing[] = "x \t";  // the body's final whitespace goes with the line end added after it
  CHECK(std::string(out.data(), relaxed_rewrite_body_end(trailing, sizeof trailing - 1, out.data())) == "x");
}

TEST_CASE("vector rewrites equal the scalar rewrite") {
  std::mt19937 rng(4711);
  for (int iteration = 0; iteration < 3000; ++iteration) {
    std::string in;
    const std::size_t size = std::uniform_int_distribution<std::size_t>(0, 300)(rng);
    while (in.size() < size) {
      switch (std::uniform_int_distribution<int>(0, 5)(rng)) {
        case 0:  // a run that may span several blocks
          in.append(std::uniform_int_distribution<std::size_t>(1, 80)(rng), (rng() % 2) ? ' ' : '\t');
          break;
        case 1:
          in += "\r\n";
          break;
        case 2:
          in += '\r';
          break;
        case 3:  // any byte
          in += static_cast<char>(rng() & 0xFF);
          break;
        default:
          in.append(std::uniform_int_distribution<std::size_t>(1, 40)(rng), 'q');
      }
    }
    const std::string expected = run(relaxed_rewrite_scalar, in);
    for (RelaxedRewrite variant : vector_variants()) CHECK(run(variant, in) == expected);
  }
}

TEST_CASE("vector rewrites: runs, CR and CRLF at every position around a block edge") {
  for (std::size_t offset = 0; offset < 70; ++offset) {
    for (std::size_t length = 1; length < 70; length += 3) {
      for (const char* after : {"\r\nx", "x", "\rx", "\r"}) {
        std::string in(offset, 'z');
        in.append(length, length % 2 ? ' ' : '\t');
        in += after;
        in.append(40, 'y');
        const std::string expected = run(relaxed_rewrite_scalar, in);
        for (RelaxedRewrite variant : vector_variants()) CHECK(run(variant, in) == expected);
      }
    }
  }
}
