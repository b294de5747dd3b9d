#pragma once
// The tokens of [[admin.tokens]], read from their files at start.
#include <string>
#include <vector>

#include "admin/token_scope.hpp"
#include "common/result.hpp"
#include "config/config.hpp"

namespace dkr::app {

// Refuses a missing, short or duplicated token (two names for one secret would make the audit log
// name the wrong one). `main_token` is the token_file/token_env token, "" when the API is off.
Result<std::vector<admin::ScopedToken>> load_scoped_admin_tokens(const config::AdminConfig& admin,
                                                                 const std::string& main_token);

}  // namespace dkr::app
