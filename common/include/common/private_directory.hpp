#pragma once
// Directories the relay creates for its own data (./data, the keystore, the outbox) are private:
// mode 0700 whatever the umask, so that a later file's mode is not the only protection.
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/result.hpp"

namespace dkr {

// Creates `path` and its missing parents with mode 0700; directories that exist are left as they
// are (an operator's choice).
inline Result<void> create_private_directories(const std::filesystem::path& path) {
  std::filesystem::path partial;
  for (const auto& part : path) {
    partial /= part;
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST)
      return make_error(ErrorCode::internal,
                        "cannot create directory " + partial.string() + ": " + std::strerror(errno));
  }
  return {};
}

}  // namespace dkr
