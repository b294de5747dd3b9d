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
  std::vector<ConfigError> warnings;
  // Values given under a key's old name (legacy_keys.cpp), by the new dotted key; merged into
  // `config` after the environment.
  Config legacy;
  std::map<std::string, Origin, std::less<>> legacy_origins;

  Diagnostics diagnostics() { return Diagnostics(errors); }
  // Where a key was set, or the file without a position when it kept its default.
  Origin origin_of(std::string_view dotted_key) const;
};

void apply_toml(std::string_view text, LoadState& state);
void apply_environment(const Environment& env, LoadState& state);
void run_consistency_checks(LoadState& state);

// Keys renamed in a later release (admin.dns_timeout -> dns.timeout): still read, with a warning.
// True when `section.key` (or the environment variable `name`) was such a key and has been read.
bool apply_legacy_key(std::string_view section, std::string_view key, const ValueSource& value, const Origin& origin,
                      LoadState& state);
bool apply_legacy_variable(std::string_view name, const ValueSource& value, const Origin& origin, LoadState& state);
// After file and environment: a legacy value counts unless the new key is set too; set to a
// different value, that is an error naming both.
void merge_legacy_keys(LoadState& state);

}  // namespace dkr::config::detail
