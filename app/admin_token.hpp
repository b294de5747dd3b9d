#pragma once
// The admin API's bearer token: from the environment variable named in config, or from the token
// file, which is generated (0600, atomic) on first start.
#include <string>

#include "config/config.hpp"
#include "common/result.hpp"

namespace dkr::app {

struct AdminToken {
  std::string value;   // secret: never log it
  std::string source;  // "environment variable X" or the file path, for the start banner
  bool generated = false;
};

Result<AdminToken> load_or_create_admin_token(const config::AdminConfig& admin);

}  // namespace dkr::app
