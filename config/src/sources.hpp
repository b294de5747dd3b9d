#pragma once
// The steps of loading, in order: file, environment, consistency checks (which also read secrets).
#include <map>
#include <string>
#include <string_view>

#include "schema.hpp"

namespace dkr::config::detail {

struct LoadState {
  std::string source_name;  // the file's name in messages
  Config config;
  std::map<std::string, Origin, std::less<>> origins;  // dotted key -> where its value came from
  std::vector<ConfigError> errors;

  Diagnostics diagnostics() { return Diagnostics(errors); }
  // Where a key was set, or the file without a position when it kept its default.
  Origin origin_of(std::string_view dotted_key) const;
};

void apply_toml(std::string_view text, LoadState& state);
void apply_environment(const Environment& env, LoadState& state);
void run_consistency_checks(LoadState& state);

}  // namespace dkr::config::detail
