#include <doctest/doctest.h>

#include "config/config.hpp"

using dkr::config::format_duration;
using dkr::config::format_size;
using dkr::config::parse_duration;
using dkr::config::parse_size;
using std::chrono::milliseconds;

TEST_CASE("parse_size accepts the documented units") {
  struct Row {
    const char* text;
    std::uint64_t bytes;
  };
  const Row rows[] = {
      {"0", 0},
      {"1000", 1000},
      {"1000B", 1000},
      {"10KB", 10'000},
      {"25MB", 25'000'000},
      {"2GB", 2'000'000'000},
      {"512KiB", 524'288},
      {"25MiB", 26'214'400},
      {"1GiB", 1'073'741'824},
      {"1TiB", 1'099'511'627'776},
  };
  for (const auto& row : rows) {
    CAPTURE(row.text);
    REQUIRE(parse_size(row.text).has_value());
    CHECK(*parse_size(row.text) == row.bytes);
  }
}

TEST_CASE("parse_size rejects garbage, wrong case and fractions") {
  const char* bad[] = {"",
                       "lots",
                       "MiB",
                       "25mib",
                       "25mb",
                       "25Mb",
                       "25 MiB",
                       " 25MiB",
                       "25MiB ",
                       "1.5MiB",
                       "-1",
                       "+1",
                       "25M",
                       "25k",
                       "0x10",
                       "99999999999999999999",
                       "17179869184GiB"};
  for (const char* text : bad) {
    CAPTURE(text);
    CHECK_FALSE(parse_size(text).has_value());
  }
}

TEST_CASE("parse_duration accepts the documented units") {
  struct Row {
    const char* text;
    long long ms;
  };
  const Row rows[] = {
      {"0s", 0},        {"250ms", 250},    {"30s", 30'000},    {"5m", 300'000},
      {"10m", 600'000}, {"1h", 3'600'000}, {"1d", 86'400'000}, {"0ms", 0},
  };
  for (const auto& row : rows) {
    CAPTURE(row.text);
    REQUIRE(parse_duration(row.text).has_value());
    CHECK(parse_duration(row.text)->count() == row.ms);
  }
}

TEST_CASE("parse_duration rejects bare numbers and garbage") {
  const char* bad[] = {
      "", "30", "0", "s", "5 m", "5M", "5min", "1.5s", "-5s", "5s ", "1h30m", "forever", "999999999999999999999d"};
  for (const char* text : bad) {
    CAPTURE(text);
    CHECK_FALSE(parse_duration(text).has_value());
  }
}

TEST_CASE("format_size and format_duration pick the largest exact unit") {
  CHECK(format_size(0) == "0");
  CHECK(format_size(26'214'400) == "25MiB");
  CHECK(format_size(65'536) == "64KiB");
  CHECK(format_size(25'000'000) == "25MB");
  CHECK(format_size(1'000) == "1KB");
  CHECK(format_size(1'001) == "1001");
  CHECK(format_duration(milliseconds(0)) == "0s");
  CHECK(format_duration(milliseconds(250)) == "250ms");
  CHECK(format_duration(milliseconds(30'000)) == "30s");
  CHECK(format_duration(milliseconds(60'000)) == "1m");
  CHECK(format_duration(milliseconds(90'000)) == "90s");
  CHECK(format_duration(milliseconds(7'200'000)) == "2h");
  CHECK(format_duration(milliseconds(86'400'000)) == "1d");
}

TEST_CASE("formatted values parse back to the same value") {
  for (std::uint64_t bytes : {0ull, 1ull, 999ull, 1000ull, 1024ull, 1536ull, 26'214'400ull, 3'000'000'000ull}) {
    CAPTURE(bytes);
    CHECK(parse_size(format_size(bytes)) == bytes);
  }
  for (long long ms : {0ll, 1ll, 1500ll, 60'000ll, 61'000ll, 3'600'000ll, 90'000'000ll}) {
    CAPTURE(ms);
    CHECK(parse_duration(format_duration(milliseconds(ms))) == milliseconds(ms));
  }
}
