#include <doctest/doctest.h>

#include <filesystem>
#include <random>

#include "test_support.hpp"
#include "upstream/message_spool.hpp"

using namespace dkr::upstream;
using dkr::upstream_test::TempDir;
namespace fs = std::filesystem;

namespace {

std::string read_all(const MessageSpool& spool, std::size_t chunk) {
  std::string all, part;
  for (std::uint64_t offset = 0;; offset += part.size()) {
    REQUIRE(spool.read(offset, chunk, part).ok());
    if (part.empty()) break;
    all += part;
  }
  return all;
}

}  // namespace

TEST_SUITE_BEGIN("unit");

TEST_CASE("small messages stay in memory") {
  TempDir dir;
  MessageSpool spool(100, dir.path());
  REQUIRE(spool.append("hello ").ok());
  REQUIRE(spool.append("world").ok());
  CHECK_FALSE(spool.spilled());
  CHECK(spool.size() == 11);
  CHECK(read_all(spool, 4) == "hello world");
  std::string out = "junk";
  REQUIRE(spool.read(11, 10, out).ok());
  CHECK(out.empty());
}

TEST_CASE("a message in memory is kept in blocks that together hold it exactly") {
  TempDir dir;
  MessageSpool spool(1'000'000, dir.path());
  std::string content;
  std::mt19937 rng(7);
  std::uniform_int_distribution<std::size_t> piece(0, 70'000);
  while (content.size() < 900'000) {
    std::string part(piece(rng), '\0');
    for (char& c : part) c = static_cast<char>('a' + rng() % 26);
    REQUIRE(spool.append(part).ok());
    content += part;
  }
  REQUIRE_FALSE(spool.spilled());
  CHECK(spool.size() == content.size());
  auto blocks = spool.in_memory();
  REQUIRE(blocks.has_value());
  CHECK(blocks->size() > 1);
  std::string joined;
  for (std::string_view block : *blocks) joined += block;
  CHECK(joined == content);
  CHECK(read_all(spool, 4'096) == content);
  CHECK(read_all(spool, 100'000) == content);
}

TEST_CASE("large messages spill to a file that has no name in the spill directory") {
  TempDir dir;
  std::string expected;
  {
    MessageSpool spool(1000, dir.path());
    for (int i = 0; i < 300; ++i) {
      std::string line = "line " + std::to_string(i) + "\r\n";
      REQUIRE(spool.append(line).ok());
      expected += line;
    }
    CHECK(spool.spilled());
    CHECK(spool.size() == expected.size());
    CHECK(read_all(spool, 777) == expected);
    CHECK(fs::is_empty(dir.path()));  // O_TMPFILE or unlinked at once
  }
  CHECK(fs::is_empty(dir.path()));
}

TEST_CASE("spilling into a missing directory is an error, not a crash") {
  MessageSpool spool(4, "/nonexistent/relay-spool-dir");
  CHECK(spool.append("abc").ok());
  CHECK_FALSE(spool.append("defgh").ok());
}

TEST_SUITE_END();
