// DKIM_RELAY_<SECTION>_<KEY> overrides, applied after the file.
#include <unistd.h>

#include <charconv>

#include "sources.hpp"
#include "common/ascii.hpp"

namespace dkr::config::detail {
namespace {

// Text that becomes whatever type the setting wants; lists are comma-separated.
class EnvironmentValue final : public ValueSource {
 public:
  EnvironmentValue(std::string_view value, const Origin& origin) : value_(value), origin_(origin) {}

  std::optional<std::string> text() const override { return std::string(value_); }
  std::optional<std::int64_t> integer() const override {
    const auto text = trim_blanks(value_);
    std::int64_t number = 0;
    const auto* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, number);
    if (text.empty() || ec != std::errc{} || ptr != end) return std::nullopt;
    return number;
  }
  std::optional<bool> boolean() const override {
    const auto text = trim_blanks(value_);
    if (text == "true") return true;
    if (text == "false") return false;
    return std::nullopt;
  }
  std::optional<std::vector<ListItem>> list() const override {
    std::vector<ListItem> items;
    if (trim_blanks(value_).empty()) return items;
    std::string_view rest = value_;
    while (true) {
      const auto comma = rest.find(',');
      const auto item = trim_blanks(rest.substr(0, comma));
      items.push_back({std::string(item), toml_quote(item), origin_});
      if (comma == std::string_view::npos) break;
      rest = rest.substr(comma + 1);
    }
    return items;
  }
  std::string describe() const override { return toml_quote(value_); }

 private:
  std::string_view value_;
  const Origin& origin_;
};

std::vector<std::string> all_env_names() {
  std::vector<std::string> names;
  for (const auto& field : fields()) names.push_back(field.env_name());
  return names;
}

const Field* field_for_variable(std::string_view name) {
  for (const auto& field : fields()) {
    if (field.env_name() == name) return &field;
  }
  return nullptr;
}

}  // namespace

void apply_environment(const Environment& env, LoadState& state) {
  // admin.token_env names a variable holding a secret; it may well start with DKIM_RELAY_ too.
  // Its own override is applied first so that the name it ends up with is the one left alone.
  const Field* token_env_field = find_field("admin", "token_env");
  if (auto it = env.find(token_env_field->env_name()); it != env.end()) {
    Origin origin{std::string(kEnvironmentSourceName), 0, 0, it->first};
    state.origins["admin.token_env"] = origin;
    token_env_field->assign(state.config, EnvironmentValue(it->second, origin), origin, state.diagnostics());
  }
  for (const auto& [name, value] : env) {
    if (!name.starts_with(kEnvPrefix) || name == kConfigPathVariable || name == state.config.admin.token_env) {
      continue;
    }
    const Field* field = field_for_variable(name);
    if (field == token_env_field) continue;  // applied above
    Origin origin{std::string(kEnvironmentSourceName), 0, 0, name};
    if (!field && apply_legacy_variable(name, EnvironmentValue(value, origin), origin, state)) continue;
    if (!field) {
      const bool auth = name.starts_with(std::string(kEnvPrefix) + "AUTH_");
      state.diagnostics().error(origin, auth ? "[[auth.users]] can only be set in the config file"
                                             : "unknown variable" + did_you_mean(name, all_env_names()));
      continue;
    }
    state.origins[field->dotted_key()] = origin;
    field->assign(state.config, EnvironmentValue(value, origin), origin, state.diagnostics());
  }
}

}  // namespace dkr::config::detail

extern char** environ;

namespace dkr::config {

Environment process_environment() {
  Environment env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const auto equals = text.find('=');
    if (equals == std::string_view::npos) continue;
    const auto name = text.substr(0, equals);
    if (name.starts_with(detail::kEnvPrefix)) env.emplace(std::string(name), std::string(text.substr(equals + 1)));
  }
  return env;
}

}  // namespace dkr::config
