#pragma once
// The C++ tests' temporary directory: a fresh private directory (mkdtemp, mode 0700) under the
// system's temp dir, removed with its contents at scope exit.
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace dkr::test {

class TempDir {
 public:
  explicit TempDir(const std::filesystem::path& base = std::filesystem::temp_directory_path()) {
    std::string pattern = (base / "dkr-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();  // nothing to test without it
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
  // A file of the directory with these contents; its path.
  std::filesystem::path write(const std::string& name, const std::string& contents) const {
    auto file = path_ / name;
    std::ofstream(file, std::ios::binary) << contents;
    return file;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace dkr::test
