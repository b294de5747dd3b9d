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
  // PostgreSQL's rule for its TLS key: a file of the running user must be private to it (0600); a
  // file of root may also be readable by its group (0640), which is what Kubernetes mounts for a
  // Secret with fsGroup (root:fsGroup 0440). Nobody else may own it, and others never have access.
  const uid_t me = ::geteuid();
  if (st.st_uid != me && st.st_uid != 0) {
    return make_error(ErrorCode::invalid, key + ": " + path + " (mode " + octal(st.st_mode) + ") is owned by uid " +
                                              std::to_string(st.st_uid) + ", neither the user running the relay (uid " +
                                              std::to_string(me) + ") nor root; fix: chown " + std::to_string(me) +
                                              " " + path + " && chmod 600 " + path);
  }
  const bool root_owned = st.st_uid == 0 && me != 0;
  const mode_t forbidden = root_owned ? (S_IWGRP | S_IROTH | S_IWOTH) : (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH);
  if ((st.st_mode & forbidden) != 0) {
    return make_error(ErrorCode::invalid,
                      key + ": " + path + " has mode " + octal(st.st_mode) + ", so " +
                          (root_owned ? "others can read it or group or others can write it; fix: chmod 640 "
                                      : "group or others can read or write it; fix: chmod 600 ") +
                          path);
  }
  return {};
}

std::vector<Error> check_secret_files(const config::Config& cfg) {
  std::vector<std::pair<std::string, std::string>> files;
  if (cfg.admin.enabled && cfg.admin.token_env.empty()) files.emplace_back("admin.token_file", cfg.admin.token_file);
  if (cfg.admin.enabled) files.emplace_back("admin.tls_key", cfg.admin.tls_key);
  files.emplace_back("upstream.password_file", cfg.upstream.password_file);
  files.emplace_back("relay.tls_key", cfg.relay.tls_key);
  files.emplace_back("relay.tls_extra_key", cfg.relay.tls_extra_key);
  if (cfg.admin.enabled) {
    for (std::size_t i = 0; i < cfg.admin.tokens.size(); ++i) {
      files.emplace_back("admin.tokens[" + std::to_string(i) + "].token_file", cfg.admin.tokens[i].token_file);
    }
  }
  if (cfg.keystore.private_keys == config::PrivateKeys::Pkcs11)
    files.emplace_back("pkcs11.pin_file", cfg.pkcs11.pin_file);
  if (cfg.keystore.type == config::KeystoreType::Postgres) {
    files.emplace_back("keystore.kek_file", cfg.keystore.kek_file);
    files.emplace_back("keystore.dsn_file", cfg.keystore.dsn_file);
  }
  if (cfg.dns_publish.type != config::DnsPublishType::None) {
    files.emplace_back("dns.publish.tsig_key_file", cfg.dns_publish.tsig_key_file);
  }
  std::vector<Error> problems;
  for (const auto& [key, path] : files) {
    if (auto checked = check_secret_file(key, path); !checked) problems.push_back(checked.error());
  }
  return problems;
}

}  // namespace dkr::app
