#include "admin_token.hpp"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/private_directory.hpp"

namespace dkr::app {

namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// O_EXCL|O_NOFOLLOW on a name of our own: a file or symlink planted at the temporary name makes
// the write fail instead of writing the token through it.
Result<void> write_private_file(const std::filesystem::path& path, const std::string& text) {
  if (path.has_parent_path()) {
    if (auto made = create_private_directories(path.parent_path()); !made) return made.error();
  }
  unsigned char random[8];
  if (RAND_bytes(random, sizeof random) != 1) return make_error("no randomness for a temporary file name");
  std::string suffix;
  for (unsigned char b : random) suffix += "0123456789abcdef"[b & 15];
  const std::string tmp = path.string() + ".tmp." + suffix;
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return make_error("cannot create " + tmp + ": " + std::strerror(errno));
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return make_error("cannot write " + path.string() + ": " + std::strerror(errno));
  }
  return {};
}

}  // namespace

Result<AdminToken> load_or_create_admin_token(const config::AdminConfig& admin) {
  if (!admin.token_env.empty()) {
    const char* value = std::getenv(admin.token_env.c_str());
    if (value == nullptr || *value == '\0')
      return make_error("admin.token_env: environment variable " + admin.token_env + " is not set");
    return AdminToken{trim(value), "environment variable " + admin.token_env, false};
  }
  const std::filesystem::path path = admin.token_file;
  std::ifstream in(path);
  if (in) {
    std::stringstream s;
    s << in.rdbuf();
    std::string token = trim(s.str());
    if (token.size() < 16)
      return make_error("admin.token_file: " + path.string() + " holds a token under 16 characters");
    return AdminToken{token, path.string(), false};
  }
  unsigned char random[32];
  if (RAND_bytes(random, sizeof random) != 1) return make_error("no randomness for the admin token");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  for (unsigned char b : random) {
    token += kHex[b >> 4];
    token += kHex[b & 15];
  }
  if (auto written = write_private_file(path, token + "\n"); !written) return written.error();
  return AdminToken{token, path.string(), true};
}

}  // namespace dkr::app
