#pragma once
// The list of settings: for each key, how a value is checked and stored, and how it is printed.
// The TOML file and the environment both feed values through this one table, so validation and
// rendering cannot drift apart.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace dkr::config::detail {

// Where a value came from, for error messages.
struct Origin {
  std::string file;
  int line = 0;
  int column = 0;
  std::string key;  // dotted key, or the environment variable's name
};

class Diagnostics {
 public:
  explicit Diagnostics(std::vector<ConfigError>& errors) : errors_(&errors) {}
  void error(const Origin& origin, std::string message) const {
    errors_->push_back({origin.file, origin.line, origin.column, origin.key, std::move(message)});
  }

 private:
  std::vector<ConfigError>* errors_;
};

struct ListItem {
  std::optional<std::string> text;  // nullopt when the item is not a string
  std::string description;          // how the item is quoted in "got ..." messages
  Origin origin;                    // the item's own position when known
};

// One value about to be assigned to one key, from either source. A TOML value answers only for its
// own type; an environment value is text that may be read as any type.
class ValueSource {
 public:
  virtual ~ValueSource() = default;
  virtual std::optional<std::string> text() const = 0;
  virtual std::optional<std::int64_t> integer() const = 0;
  virtual std::optional<bool> boolean() const = 0;
  virtual std::optional<std::vector<ListItem>> list() const = 0;
  virtual std::string describe() const = 0;
};

// The role column of config/settings_table.hpp, spelled as there.
enum class SettingRole { plain, limit };

using Assign = std::function<void(Config&, const ValueSource&, const Origin&, const Diagnostics&)>;
// The value as TOML text (quoted string, number, array...).
using Render = std::function<std::string(const Config&, const RenderOptions&)>;

// How one kind of value is read, checked, stored and printed, bound to its member.
struct ValueCodec {
  Assign assign;
  Render render;
};

// One row of config/settings_table.hpp, ready to use.
struct Field {
  std::string_view section;
  std::string_view key;
  SettingRole role = SettingRole::plain;
  std::string_view doc;
  Assign assign;
  Render render;

  std::string dotted_key() const { return std::string(section) + "." + std::string(key); }
  std::string env_name() const;
};

inline constexpr std::string_view kEnvPrefix = "DKIM_RELAY_";
inline constexpr std::string_view kEnvironmentSourceName = "environment";

// In file order; sections in the order they are rendered.
const std::vector<Field>& fields();
const std::vector<std::string_view>& section_names();  // without "auth", which is not a plain section
const Field* find_field(std::string_view section, std::string_view key);

// Keys of [[auth.users]].
void assign_auth_user_name(AuthUser& user, const ValueSource& value, const Origin& origin,
                           const Diagnostics& diagnostics);
void assign_auth_user_hash(AuthUser& user, const ValueSource& value, const Origin& origin,
                           const Diagnostics& diagnostics);

// The candidate nearest to a probable typo, or empty when none is close.
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);
// `; did you mean "x"?` or empty.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

// A TOML basic string with escapes.
std::string toml_quote(std::string_view text);

}  // namespace dkr::config::detail
