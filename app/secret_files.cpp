#include "secret_files.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace dkr::app {

namespace {

std::string octal(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

}  // namespace

Result<void> check_secret_file(const std::string& key, const std::string& path) {
  if (path.empty()) return {};
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return make_error(ErrorCode::invalid, key + ": cannot check " + path + ": " + std::strerror(errno));
  }
  const uid_t me = ::geteuid();
  if (st.st_uid != me) {
    return make_error(ErrorCode::invalid, key + ": " + path + " (mode " + octal(st.st_mode) + ") is owned by uid " +
                                              std::to_string(st.st_uid) + ", not by the user running the relay (uid " +
                                              std::to_string(me) + "); fix: chown " + std::to_string(me) + " " + path +
                                              " && chmod 600 " + path);
  }
  if ((st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) != 0) {
    return make_error(ErrorCode::invalid, key + ": " + path + " has mode " + octal(st.st_mode) +
                                              ", so group or others can read or write it; fix: chmod 600 " + path);
  }
  return {};
}

std::vector<Error> check_secret_files(const config::Config& cfg) {
  std::vector<std::pair<std::string, std::string>> files;
  if (cfg.admin.enabled && cfg.admin.token_env.empty()) files.emplace_back("admin.token_file", cfg.admin.token_file);
  if (cfg.admin.enabled) files.emplace_back("admin.tls_key", cfg.admin.tls_key);
  files.emplace_back("upstream.password_file", cfg.upstream.password_file);
  files.emplace_back("relay.tls_key", cfg.relay.tls_key);
  std::vector<Error> problems;
  for (const auto& [key, path] : files) {
    if (auto checked = check_secret_file(key, path); !checked) problems.push_back(checked.error());
  }
  return problems;
}

}  // namespace dkr::app
