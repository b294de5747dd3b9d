#pragma once
// Shared bits of the config tests.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/config.hpp"
#include "test_support/temp_dir.hpp"

namespace dkr::config::test {

using dkr::test::TempDir;

inline const Environment kNoEnvironment{};

inline std::string all_errors(const LoadResult& result) {
  std::string out;
  for (const auto& error : result.errors) out += error.to_string() + "\n";
  return out;
}

// The error reported for `key`, or nullptr.
inline const ConfigError* error_for(const LoadResult& result, const std::string& key) {
  auto it = std::find_if(result.errors.begin(), result.errors.end(),
                         [&](const ConfigError& error) { return error.key == key; });
  return it == result.errors.end() ? nullptr : &*it;
}

}  // namespace dkr::config::test
