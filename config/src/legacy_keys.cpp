// Keys that moved: [admin] dns_resolver, dns_timeout and dns_check_interval became [dns] resolver,
// timeout and check_interval when DNS left the admin API. Old files keep loading, with a warning
// that names the new key; the old key never silently wins over the new one.
#include <array>
#include <cctype>

#include "sources.hpp"

namespace dkr::config::detail {
namespace {

struct LegacyKey {
  std::string_view old_section;
  std::string_view old_key;
  std::string_view new_section;
  std::string_view new_key;
  void (*copy)(Config& to, const Config& from);

  std::string old_dotted() const { return std::string(old_section) + "." + std::string(old_key); }
  std::string new_dotted() const { return std::string(new_section) + "." + std::string(new_key); }
  std::string old_variable() const {
    std::string name = std::string(kEnvPrefix) + std::string(old_section) + "_" + std::string(old_key);
    for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return name;
  }
};

const std::array<LegacyKey, 3> kLegacyKeys{{
    {"admin", "dns_resolver", "dns", "resolver",
     [](Config& to, const Config& from) { to.dns.resolver = from.dns.resolver; }},
    {"admin", "dns_timeout", "dns", "timeout",
     [](Config& to, const Config& from) { to.dns.timeout = from.dns.timeout; }},
    {"admin", "dns_check_interval", "dns", "check_interval",
     [](Config& to, const Config& from) { to.dns.check_interval = from.dns.check_interval; }},
}};

// Read through the new key's codec, so the old name gets exactly the new one's checks.
void assign(const LegacyKey& legacy, const ValueSource& value, const Origin& origin, LoadState& state) {
  const Field* field = find_field(legacy.new_section, legacy.new_key);
  state.legacy_origins[legacy.new_dotted()] = origin;
  field->assign(state.legacy, value, origin, state.diagnostics());
}

std::string where(const Origin& origin) {
  if (origin.line > 0) return "line " + std::to_string(origin.line);
  return origin.file == kEnvironmentSourceName ? "the environment (" + origin.key + ")" : origin.file;
}

}  // namespace

bool apply_legacy_key(std::string_view section, std::string_view key, const ValueSource& value, const Origin& origin,
                      LoadState& state) {
  for (const auto& legacy : kLegacyKeys) {
    if (legacy.old_section != section || legacy.old_key != key) continue;
    assign(legacy, value, origin, state);
    return true;
  }
  return false;
}

bool apply_legacy_variable(std::string_view name, const ValueSource& value, const Origin& origin, LoadState& state) {
  for (const auto& legacy : kLegacyKeys) {
    if (legacy.old_variable() != name) continue;
    assign(legacy, value, origin, state);
    return true;
  }
  return false;
}

void merge_legacy_keys(LoadState& state) {
  for (const auto& legacy : kLegacyKeys) {
    const auto old_origin = state.legacy_origins.find(legacy.new_dotted());
    if (old_origin == state.legacy_origins.end()) continue;
    const Field* field = find_field(legacy.new_section, legacy.new_key);
    const auto new_origin = state.origins.find(legacy.new_dotted());
    if (new_origin == state.origins.end()) {
      legacy.copy(state.config, state.legacy);
      state.origins[legacy.new_dotted()] = old_origin->second;
      state.warnings.push_back({old_origin->second.file, old_origin->second.line, old_origin->second.column,
                                old_origin->second.key,
                                "is deprecated; write it as " + legacy.new_dotted() + " (" +
                                    std::string(legacy.new_key) + " in [" + std::string(legacy.new_section) + "])"});
      continue;
    }
    const std::string old_value = field->render(state.legacy, {});
    const std::string new_value = field->render(state.config, {});
    if (old_value != new_value) {
      state.diagnostics().error(old_origin->second, "is " + old_value + " (" + where(old_origin->second) + ") but " +
                                                        legacy.new_dotted() + " is " + new_value + " (" +
                                                        where(new_origin->second) + "); remove " + legacy.old_dotted() +
                                                        ", which is deprecated");
      continue;
    }
    state.warnings.push_back({old_origin->second.file, old_origin->second.line, old_origin->second.column,
                              old_origin->second.key,
                              "is deprecated and repeats " + legacy.new_dotted() + "; remove it"});
  }
}

}  // namespace dkr::config::detail
