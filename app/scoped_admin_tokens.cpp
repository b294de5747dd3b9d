#include "scoped_admin_tokens.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <openssl/crypto.h>

namespace dkr::app {

namespace {

admin::TokenRole role_of(config::AdminRole role) {
  switch (role) {
    case config::AdminRole::Read:
      return admin::TokenRole::Read;
    case config::AdminRole::Rotate:
      return admin::TokenRole::Rotate;
    case config::AdminRole::Admin:
      return admin::TokenRole::Admin;
    case config::AdminRole::Metrics:
      return admin::TokenRole::Metrics;
  }
  return admin::TokenRole::Read;
}

bool same(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

Result<std::vector<admin::ScopedToken>> load_scoped_admin_tokens(const config::AdminConfig& admin,
                                                                 const std::string& main_token) {
  std::vector<admin::ScopedToken> tokens;
  for (const auto& entry : admin.tokens) {
    const std::string where = "admin.tokens \"" + entry.name + "\": token_file " + entry.token_file;
    std::ifstream in(entry.token_file, std::ios::binary);
    if (!in) return make_error(ErrorCode::invalid, where + ": " + std::strerror(errno));
    std::ostringstream contents;
    contents << in.rdbuf();
    std::string token = contents.str();
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
    if (token.size() < 16) return make_error(ErrorCode::invalid, where + " holds a token under 16 characters");
    if (same(token, main_token)) {
      return make_error(ErrorCode::invalid, where + " holds the same token as admin.token_file/token_env");
    }
    for (const auto& other : tokens) {
      if (same(token, other.token)) {
        return make_error(ErrorCode::invalid, where + " holds the same token as \"" + other.scope.name + "\"");
      }
    }
    if (entry.name == "admin" && !main_token.empty()) {
      return make_error(ErrorCode::invalid, "admin.tokens: the name \"admin\" is the token of admin.token_file");
    }
    tokens.push_back({std::move(token), {entry.name, role_of(entry.role), entry.domains}});
  }
  return tokens;
}

}  // namespace dkr::app
