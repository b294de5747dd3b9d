// Reads settings from TOML text. The only translation unit that sees toml++.
#include <toml++/toml.h>

#include <algorithm>

#include "access_tables.hpp"
#include "sources.hpp"

namespace dkr::config::detail {
namespace {

Origin origin_at(const LoadState& state, const toml::source_region& region, std::string key) {
  return {state.source_name, static_cast<int>(region.begin.line), static_cast<int>(region.begin.column),
          std::move(key)};
}

std::string describe_node(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return toml_quote(node.as_string()->get());
    case toml::node_type::integer:
      return "the integer " + std::to_string(node.as_integer()->get());
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::boolean:
      return node.as_boolean()->get() ? "the boolean true" : "the boolean false";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    default:
      return "a date/time";
  }
}

class TomlValue final : public ValueSource {
 public:
  TomlValue(const toml::node& node, const LoadState& state, std::string_view key)
      : node_(node), state_(state), key_(key) {}

  std::optional<std::string> text() const override {
    if (const auto* s = node_.as_string()) return s->get();
    return std::nullopt;
  }
  std::optional<std::int64_t> integer() const override {
    if (const auto* i = node_.as_integer()) return i->get();
    return std::nullopt;
  }
  std::optional<bool> boolean() const override {
    if (const auto* b = node_.as_boolean()) return b->get();
    return std::nullopt;
  }
  std::optional<std::vector<ListItem>> list() const override {
    const auto* array = node_.as_array();
    if (!array) return std::nullopt;
    std::vector<ListItem> items;
    for (const auto& element : *array) {
      ListItem item;
      if (const auto* s = element.as_string()) item.text = s->get();
      item.description = describe_node(element);
      item.origin = origin_at(state_, element.source(), std::string(key_));
      items.push_back(std::move(item));
    }
    return items;
  }
  std::string describe() const override { return describe_node(node_); }

 private:
  const toml::node& node_;
  const LoadState& state_;
  std::string_view key_;
};

std::vector<std::string> keys_of_section(std::string_view section) {
  std::vector<std::string> keys;
  for (const auto& field : fields()) {
    if (field.section == section) keys.emplace_back(field.key);
  }
  return keys;
}

void apply_auth_user(const toml::node& node, std::size_t index, LoadState& state,
                     std::map<std::string, Origin>& seen_names) {
  const std::string prefix = "auth.users[" + std::to_string(index) + "]";
  const auto* table = node.as_table();
  if (!table) {
    state.diagnostics().error(origin_at(state, node.source(), prefix),
                              "expected a table ([[auth.users]]), got " + describe_node(node));
    return;
  }
  AuthUser user;
  bool has_name = false;
  bool has_hash = false;
  bool has_domains = false;
  for (auto&& [key, value] : *table) {
    const std::string dotted = prefix + "." + std::string(key.str());
    const Origin origin = origin_at(state, key.source(), dotted);
    const TomlValue source(value, state, dotted);
    if (key.str() == "name") {
      has_name = true;
      assign_auth_user_name(user, source, origin, state.diagnostics());
    } else if (key.str() == "password_hash") {
      has_hash = true;
      assign_auth_user_hash(user, source, origin, state.diagnostics());
    } else if (key.str() == "domains") {
      has_domains = true;
      assign_domain_patterns(user.domains, source, origin, state.diagnostics());
    } else {
      state.diagnostics().error(origin, "unknown key" + did_you_mean(key.str(), {"name", "password_hash", "domains"}));
    }
  }
  const Origin table_origin = origin_at(state, node.source(), prefix);
  if (!has_name) state.diagnostics().error(table_origin, "missing name");
  if (!has_hash) state.diagnostics().error(table_origin, "missing password_hash");
  if (!has_domains) {
    // Signing for every domain in the key store must be a choice, not what an omission means.
    state.diagnostics().error(table_origin,
                              "missing domains for user \"" + user.name +
                                  "\"; list what it may sign, like [\"example.com\"], or [\"*\"] for any");
  }
  if (user.name.empty() || user.password_hash.empty() || user.domains.empty()) return;  // already reported
  if (auto [it, inserted] = seen_names.emplace(user.name, table_origin); !inserted) {
    state.diagnostics().error(
        table_origin, "user \"" + user.name + "\" is already defined at line " + std::to_string(it->second.line));
    return;
  }
  state.config.auth_users.push_back(std::move(user));
}

void apply_auth(const toml::key& section_key, const toml::node& node, LoadState& state) {
  const auto* table = node.as_table();
  if (!table) {
    state.diagnostics().error(origin_at(state, section_key.source(), "auth"),
                              "expected a table, got " + describe_node(node));
    return;
  }
  for (auto&& [key, value] : *table) {
    const std::string dotted = "auth." + std::string(key.str());
    if (key.str() != "users") {
      state.diagnostics().error(origin_at(state, key.source(), dotted),
                                "unknown key" + did_you_mean(key.str(), {"users"}));
      continue;
    }
    const auto* users = value.as_array();
    if (!users) {
      state.diagnostics().error(origin_at(state, key.source(), dotted),
                                "expected [[auth.users]] tables, got " + describe_node(value));
      continue;
    }
    state.origins["auth.users"] = origin_at(state, key.source(), dotted);
    std::map<std::string, Origin> seen_names;
    std::size_t index = 0;
    for (const auto& user : *users) apply_auth_user(user, index++, state, seen_names);
  }
}

// [[relay.clients]] or [[admin.tokens]]: an array of tables whose keys `assign` knows.
template <class Item, class Assign, class Finish>
void apply_table_array(const toml::node& node, const Origin& origin, const std::vector<std::string>& keys,
                       LoadState& state, Assign assign, Finish finish) {
  const auto* array = node.as_array();
  if (!array) {
    state.diagnostics().error(origin, "expected [[" + origin.key + "]] tables, got " + describe_node(node));
    return;
  }
  std::size_t index = 0;
  for (const auto& element : *array) {
    const std::string prefix = origin.key + "[" + std::to_string(index++) + "]";
    const Origin table_origin = origin_at(state, element.source(), prefix);
    const auto* table = element.as_table();
    if (!table) {
      state.diagnostics().error(table_origin, "expected a table, got " + describe_node(element));
      continue;
    }
    Item item;
    std::vector<std::string> present;
    for (auto&& [key, value] : *table) {
      const std::string dotted = prefix + "." + std::string(key.str());
      const Origin key_origin = origin_at(state, key.source(), dotted);
      if (!assign(item, key.str(), TomlValue(value, state, dotted), key_origin, state.diagnostics())) {
        state.diagnostics().error(key_origin, "unknown key" + did_you_mean(key.str(), keys));
        continue;
      }
      present.emplace_back(key.str());
    }
    bool complete = true;
    for (const auto& key : keys) {
      if (std::find(present.begin(), present.end(), key) != present.end()) continue;
      state.diagnostics().error(table_origin, "missing " + key);
      complete = false;
    }
    if (complete) finish(std::move(item), table_origin);
  }
}

// Keys of plain sections that hold arrays of tables. True when `key` was one of them.
bool apply_table_key(std::string_view section, const toml::key& key, const toml::node& value, LoadState& state) {
  const Origin origin = origin_at(state, key.source(), std::string(section) + "." + std::string(key.str()));
  if (section == "relay" && key.str() == "clients") {
    apply_table_array<RelayClient>(value, origin, kRelayClientKeys, state, assign_relay_client_key,
                                   [&state](RelayClient client, const Origin&) {
                                     if (client.networks.empty() || client.domains.empty()) return;  // reported
                                     state.config.relay.clients.push_back(std::move(client));
                                   });
    return true;
  }
  if (section == "admin" && key.str() == "tokens") {
    std::map<std::string, int> seen;
    apply_table_array<AdminTokenConfig>(
        value, origin, kAdminTokenKeys, state, assign_admin_token_key,
        [&state, &seen](AdminTokenConfig token, const Origin& where) {
          if (token.name.empty() || token.token_file.empty() || token.domains.empty()) return;  // reported
          if (auto [it, inserted] = seen.emplace(token.name, where.line); !inserted) {
            state.diagnostics().error(
                where, "token \"" + token.name + "\" is already defined at line " + std::to_string(it->second));
            return;
          }
          state.config.admin.tokens.push_back(std::move(token));
        });
    return true;
  }
  return false;
}

bool is_section(std::string_view name) {
  return std::find(section_names().begin(), section_names().end(), name) != section_names().end();
}

// The keys of one [section]; a sub-table that is a section itself ([dns.publish] in [dns]) recurses.
void apply_section(const std::string& section, const Origin& section_origin, const toml::node& section_node,
                   LoadState& state) {
  const auto* table = section_node.as_table();
  if (!table) {
    state.diagnostics().error(section_origin, "expected a table [" + section + "], got " + describe_node(section_node));
    return;
  }
  for (auto&& [key, value] : *table) {
    const std::string dotted = section + "." + std::string(key.str());
    const Origin origin = origin_at(state, key.source(), dotted);
    if (value.is_table() && is_section(dotted)) {
      apply_section(dotted, origin, value, state);
      continue;
    }
    if (apply_table_key(section, key, value, state)) continue;
    if (apply_legacy_key(section, key.str(), TomlValue(value, state, dotted), origin, state)) continue;
    const Field* field = find_field(section, key.str());
    if (!field) {
      state.diagnostics().error(origin, "unknown key" + did_you_mean(key.str(), keys_of_section(section)));
      continue;
    }
    state.origins[dotted] = origin;
    field->assign(state.config, TomlValue(value, state, dotted), origin, state.diagnostics());
  }
}

}  // namespace

void apply_toml(std::string_view text, LoadState& state) {
  toml::table root;
  try {
    root = toml::parse(text, state.source_name);
  } catch (const toml::parse_error& error) {
    // toml++ stops at the first syntax error, so this is the only error the file can report.
    state.diagnostics().error(origin_at(state, error.source(), ""), std::string(error.description()));
    return;
  }
  std::vector<std::string> sections(section_names().begin(), section_names().end());
  sections.emplace_back("auth");
  for (auto&& [section_key, section_node] : root) {
    const std::string section(section_key.str());
    if (section == "auth") {
      apply_auth(section_key, section_node, state);
      continue;
    }
    const Origin section_origin = origin_at(state, section_key.source(), section);
    if (std::find(section_names().begin(), section_names().end(), section) == section_names().end()) {
      state.diagnostics().error(section_origin, "unknown section" + did_you_mean(section, sections));
      continue;
    }
    apply_section(section, section_origin, section_node, state);
  }
}

}  // namespace dkr::config::detail
