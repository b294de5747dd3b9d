#pragma once
// Shared bits of the config tests.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "config/config.hpp"

namespace dkr::config::test {

// A directory under the system temp dir, removed with its contents at scope exit.
class TempDir {
 public:
  TempDir() {
    std::random_device random;
    path_ = std::filesystem::temp_directory_path() / ("dkr-config-test-" + std::to_string(random()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path write(const std::string& name, const std::string& contents) const {
    auto file = path_ / name;
    std::ofstream(file, std::ios::binary) << contents;
    return file;
  }

 private:
  std::filesystem::path path_;
};

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
