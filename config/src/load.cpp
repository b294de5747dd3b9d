#include <arpa/inet.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <system_error>

#include "config/config.hpp"
#include "sources.hpp"

namespace dkr::config {
namespace {

// Whether a connection string carries a password (keyword password=, or a URI's user:password@).
bool dsn_has_password(std::string_view dsn) {
  if (dsn.find("password") != std::string_view::npos) return true;
  const std::size_t at = dsn.find('@');
  if (at == std::string_view::npos) return false;
  const std::size_t scheme = dsn.find("://");
  const std::size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  return start < at && dsn.substr(start, at - start).find(':') != std::string_view::npos;
}

// A secret written inline in a config file that group or others can read: the relay still starts
// (the file may be mounted so on purpose), but the operator is told which key to move to a file.
void warn_inline_secrets(const std::filesystem::path& file, const detail::LoadState& state,
                         std::vector<ConfigError>& warnings) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0 || (st.st_mode & (S_IRGRP | S_IROTH)) == 0) return;
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  auto inline_in_file = [&](std::string_view key) -> const detail::Origin* {
    const auto found = state.origins.find(key);
    if (found == state.origins.end() || found->second.file != file.string()) return nullptr;
    return &found->second;
  };
  auto warn = [&](std::string_view key, std::string_view file_key) {
    const detail::Origin* origin = inline_in_file(key);
    if (origin == nullptr) return;
    warnings.push_back({origin->file, origin->line, origin->column, std::string(key),
                        std::string("holds a password inline, and the config file has mode ") + mode +
                            " (group or others can read it): move it to " + std::string(file_key) +
                            " (mode 0600) or chmod 600 " + file.string()});
  };
  if (!state.config.upstream.password.empty() && state.config.upstream.password_file.empty()) {
    warn("upstream.password", "upstream.password_file");
  }
  if (state.config.keystore.dsn_file.empty() && dsn_has_password(state.config.keystore.dsn)) {
    warn("keystore.dsn", "keystore.dsn_file");
  }
}

bool is_loopback_host(const std::string& host) {
  if (host == "localhost" || host == "localhost.") return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, host.c_str(), &v6) != 1) return false;
  static const unsigned char loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(loopback, loopback + 16, v6.s6_addr)) return true;
  return std::equal(mapped, mapped + 12, v6.s6_addr) && v6.s6_addr[12] == 127;
}

// [upstream] starttls left unset means "required" towards any host that is not a loopback address:
// the path to a remote MTA crosses a network where STARTTLS can be stripped. An explicit
// "opportunistic" (or "none") there is kept, with a warning.
void apply_upstream_tls_default(detail::LoadState& state, std::vector<ConfigError>& warnings) {
  UpstreamConfig& upstream = state.config.upstream;
  if (upstream.type != UpstreamType::Smtp || is_loopback_host(upstream.host)) return;
  const auto set = state.origins.find("upstream.starttls");
  if (set == state.origins.end()) {
    upstream.starttls = StartTls::Required;
    return;
  }
  if (upstream.starttls == StartTls::Required) return;
  const detail::Origin& origin = set->second;
  warnings.push_back({origin.file, origin.line, origin.column, "upstream.starttls",
                      "\"" + std::string(to_string(upstream.starttls)) + "\" towards " + upstream.host +
                          ", which is not a loopback address: a network attacker can strip STARTTLS and read or "
                          "change the mail (and any upstream password); set starttls = \"required\""});
}

LoadResult run(const std::optional<std::string_view>& toml, std::string_view source_name, const Environment& env,
               const std::filesystem::path* file = nullptr) {
  detail::LoadState state;
  state.source_name = std::string(source_name);
  if (toml) {
    detail::apply_toml(*toml, state);
    // toml++ hands out keys sorted by name; operators read errors top to bottom.
    std::stable_sort(state.errors.begin(), state.errors.end(), [](const ConfigError& a, const ConfigError& b) {
      return std::pair(a.line, a.column) < std::pair(b.line, b.column);
    });
  }
  detail::apply_environment(env, state);
  detail::merge_legacy_keys(state);
  detail::run_consistency_checks(state);
  std::vector<ConfigError> warnings = std::move(state.warnings);
  apply_upstream_tls_default(state, warnings);
  if (file != nullptr) warn_inline_secrets(*file, state, warnings);
  return {std::move(state.config), std::move(state.errors), std::move(warnings)};
}

}  // namespace

Config default_config() { return Config{}; }

LoadResult load_config(const std::filesystem::path& file) { return load_config(file, process_environment()); }

LoadResult load_config(const std::filesystem::path& file, const Environment& env) {
  auto unreadable = [&](const std::string& why) {
    LoadResult result{default_config(), {}, {}};
    result.errors.push_back({file.string(), 0, 0, "", "cannot read the config file: " + why});
    return result;
  };
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) return unreadable("it is a directory");
  std::ifstream in(file, std::ios::binary);
  if (!in) return unreadable(std::generic_category().message(errno));
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return unreadable("read error");
  return run(contents.str(), file.string(), env, &file);
}

LoadResult load_config_string(std::string_view toml, std::string_view source_name) {
  return load_config_string(toml, source_name, process_environment());
}

LoadResult load_config_string(std::string_view toml, std::string_view source_name, const Environment& env) {
  return run(toml, source_name, env);
}

LoadResult load_defaults(const Environment& env) { return run(std::nullopt, "<defaults>", env); }

}  // namespace dkr::config
