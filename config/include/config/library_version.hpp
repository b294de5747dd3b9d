#pragma once
// The version of the TOML parser the config library was built with (for `dkim-relay --version`):
// toml++ stays private to this library.
#include <string>

namespace dkr::config {

std::string toml_library_version();

}  // namespace dkr::config
