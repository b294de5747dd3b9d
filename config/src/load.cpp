#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <system_error>

#include "config/config.hpp"
#include "sources.hpp"

namespace dkr::config {
namespace {

LoadResult run(const std::optional<std::string_view>& toml, std::string_view source_name, const Environment& env) {
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
  return {std::move(state.config), std::move(state.errors), std::move(state.warnings)};
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
  return run(contents.str(), file.string(), env);
}

LoadResult load_config_string(std::string_view toml, std::string_view source_name) {
  return load_config_string(toml, source_name, process_environment());
}

LoadResult load_config_string(std::string_view toml, std::string_view source_name, const Environment& env) {
  return run(toml, source_name, env);
}

LoadResult load_defaults(const Environment& env) { return run(std::nullopt, "<defaults>", env); }

}  // namespace dkr::config
