// config/settings_table.hpp against what operators read: the example file documents exactly its
// keys, and relay/README.md's limits table names exactly its limit keys, each with its default. And
// against the config fuzzer's dictionary, which should offer every key the loader knows.
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "test_support.hpp"

using namespace dkr::config;

namespace {

struct Row {
  std::string key;  // "section.key"
  bool limit = false;
};

// The rows as the table spells them, independently of the loader that config/src builds from them.
#define DKR_ROW(section, member, key, type, default_value, role, ...) \
  Row{std::string(section_table(#section)) + "." key, std::string_view(#role) == "limit"},
const std::vector<Row> kRows{DKR_SETTINGS(DKR_ROW)};
#undef DKR_ROW

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in, "cannot open " << path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

struct KeyLine {
  std::string value;       // the TOML text after " = "
  bool commented = false;  // a comment line precedes it, directly or through a run of keys
};

// "section.key" -> its line, for each `key = value` line of a TOML text.
std::map<std::string, KeyLine> key_lines(const std::string& text) {
  std::map<std::string, KeyLine> keys;
  std::istringstream in(text);
  std::string line;
  std::string section;
  bool commented = false;
  while (std::getline(in, line)) {
    if (line.empty()) {
      commented = false;
    } else if (line[0] == '#') {
      commented = true;
    } else if (line[0] == '[') {
      section = line.substr(1, line.find(']') - 1);
      commented = false;
    } else if (auto eq = line.find(" = "); eq != std::string::npos) {
      keys[section + "." + line.substr(0, eq)] = {line.substr(eq + 3), commented};
    }
  }
  return keys;
}

std::vector<std::string> split(std::string_view text, std::string_view separator) {
  std::vector<std::string> parts;
  while (true) {
    const auto at = text.find(separator);
    parts.emplace_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + separator.size());
  }
}

std::string without(std::string text, char c) {
  text.erase(std::remove(text.begin(), text.end(), c), text.end());
  return text;
}

// A rendered TOML value as the words a README cell shows: `"25MiB"` -> {25MiB},
// `["127.0.0.0/8", "::1/128"]` -> {127.0.0.0/8, ::1/128}.
std::vector<std::string> value_words(std::string value) {
  if (value.starts_with('[')) value = value.substr(1, value.size() - 2);
  return split(without(value, '"'), ", ");
}

// Words of a README default cell and of a rendered value name the same value: "60s" is "1m".
bool same_value(const std::string& readme, const std::string& rendered) {
  if (readme == rendered) return true;
  const auto duration = parse_duration(readme);
  return duration && duration == parse_duration(rendered);
}

bool same_values(const std::vector<std::string>& readme, const std::vector<std::string>& rendered) {
  return std::equal(readme.begin(), readme.end(), rendered.begin(), rendered.end(), same_value);
}

// The tokens of a libFuzzer dictionary: each line `"token"` or `name="token"`, '#' comments. The
// tokens compared here hold no escapes, so they are taken as written.
std::set<std::string> dictionary_tokens(const std::string& text) {
  std::set<std::string> tokens;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const auto first = line.find('"');
    const auto last = line.rfind('"');
    if (line.starts_with('#') || first == std::string::npos || last == first) continue;
    tokens.insert(line.substr(first + 1, last - first - 1));
  }
  return tokens;
}

struct LimitsRow {
  std::vector<std::string> keys;      // `section.key` names in the config key column
  std::vector<std::string> defaults;  // the default column, split at ", ", without backticks and " each"
  std::string line;
};

// The rows of the "## Limits and reply codes" table: | what | config key | default | reply | RFC |
std::vector<LimitsRow> limits_rows(const std::string& readme) {
  std::vector<LimitsRow> rows;
  const auto start = readme.find("\n## Limits and reply codes\n");
  REQUIRE(start != std::string::npos);
  std::istringstream in(readme.substr(start + 1));
  std::string line;
  std::getline(in, line);  // the heading
  while (std::getline(in, line) && (line.empty() || line.starts_with('|'))) {
    if (line.empty() || line.starts_with("| what ") || line.starts_with("| ---")) continue;
    const auto cells = split(line, " | ");
    REQUIRE_MESSAGE(cells.size() == 5, line);
    LimitsRow row{{}, {}, line};
    const auto quoted = split(cells[1], "`");
    for (std::size_t i = 1; i < quoted.size(); i += 2) {
      const auto& name = quoted[i];
      const bool setting = name.find('.') != std::string::npos &&
                           name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_.") == std::string::npos;
      if (setting) row.keys.push_back(name);
    }
    std::string defaults = without(cells[2], '`');
    if (defaults.ends_with(" each")) defaults.resize(defaults.size() - 5);
    row.defaults = split(defaults, ", ");
    rows.push_back(std::move(row));
  }
  REQUIRE(rows.size() > 10);
  return rows;
}

}  // namespace

TEST_CASE("the table's keys are unique and the loader serves each one") {
  std::set<std::string> seen;
  for (const auto& row : kRows) {
    CAPTURE(row.key);
    CHECK(seen.insert(row.key).second);
  }
  // config show prints every plain key, from the same table.
  const auto rendered = key_lines(render_effective_config(default_config()));
  CHECK(rendered.size() == kRows.size());
  for (const auto& row : kRows) {
    CAPTURE(row.key);
    CHECK(rendered.count(row.key) == 1);
  }
}

TEST_CASE("the example file shows every key of the table, each with a comment, and no other") {
  const auto example = key_lines(read_file(DKR_CONFIG_EXAMPLE_FILE));
  std::set<std::string> keys;
  for (const auto& row : kRows) {
    CAPTURE(row.key);
    keys.insert(row.key);
    auto it = example.find(row.key);
    REQUIRE(it != example.end());
    CHECK(it->second.commented);
  }
  for (const auto& entry : example) {
    CAPTURE(entry.first);
    CHECK(keys.count(entry.first) == 1);
  }
}

TEST_CASE("relay/README.md's limits table names every limit key with its default, and only those") {
  const auto rendered = key_lines(render_effective_config(default_config()));
  std::map<std::string, bool> limit_of;
  for (const auto& row : kRows) limit_of[row.key] = row.limit;
  std::set<std::string> in_readme;
  for (const auto& row : limits_rows(read_file(DKR_RELAY_README_FILE))) {
    CAPTURE(row.line);
    for (std::size_t i = 0; i < row.keys.size(); ++i) {
      const auto& key = row.keys[i];
      CAPTURE(key);
      REQUIRE(limit_of.count(key) == 1);  // a key the table knows
      CHECK(limit_of[key]);               // marked `limit` there
      in_readme.insert(key);
      // One default per key in order ("1, 16"), one for all ("10s each"), or the items of a list.
      std::vector<std::string> expected = row.defaults;
      if (row.keys.size() > 1 && row.defaults.size() == row.keys.size()) expected = {row.defaults[i]};
      const auto actual = value_words(rendered.at(key).value);
      CAPTURE(rendered.at(key).value);
      CHECK(same_values(expected, actual));
    }
  }
  for (const auto& row : kRows) {
    if (!row.limit) continue;
    CAPTURE(row.key);
    CHECK(in_readme.count(row.key) == 1);
  }
}

TEST_CASE("the config fuzzer's dictionary offers every section and key of the table") {
  const auto tokens = dictionary_tokens(read_file(DKR_CONFIG_FUZZ_DICTIONARY));
  std::set<std::string> names;
  for (const auto& row : kRows) {
    CAPTURE(row.key);
    const auto dot = row.key.rfind('.');  // [dns.publish] type
    const std::string section = row.key.substr(0, dot);
    const std::string name = row.key.substr(dot + 1);
    CHECK(tokens.count("[" + section + "]") == 1);
    CHECK(tokens.count(name) == 1);
    names.insert(name);
  }
  // And no word that is not a key: the keys of the arrays of tables ([[auth.users]], [[relay.clients]],
  // [[admin.tokens]], read in config/src/toml_source.cpp and access_tables.cpp) and TOML's booleans aside.
  // The deprecated names of keys that moved (config/src/legacy_keys.cpp) still load.
  for (const char* other : {"name", "password_hash", "domains", "networks", "token_file", "role", "true", "false",
                            "dns_resolver", "dns_timeout", "dns_check_interval"}) {
    names.insert(other);
  }
  for (const auto& token : tokens) {
    if (token.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") != std::string::npos) continue;
    CAPTURE(token);
    CHECK(names.count(token) == 1);
  }
}
