#include "config/library_version.hpp"

#include <toml++/impl/version.h>

namespace dkr::config {

std::string toml_library_version() {
  return std::to_string(TOML_LIB_MAJOR) + "." + std::to_string(TOML_LIB_MINOR) + "." + std::to_string(TOML_LIB_PATCH);
}

}  // namespace dkr::config
