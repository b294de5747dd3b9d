#include "schema.hpp"

#include <algorithm>
#include <cctype>
#include <limits>

#include "enum_names.hpp"
#include "text_checks.hpp"
#include "value_readers.hpp"

namespace dkr::config::detail {
namespace {

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

template <class Range, class Print>
std::string render_list(const Range& range, Print print) {
  std::string out = "[";
  bool first = true;
  for (const auto& item : range) {
    if (!first) out += ", ";
    first = false;
    out += toml_quote(print(item));
  }
  return out + "]";
}

// Where a row's value lands: config.*section.*member, for a const or a mutable Config.
template <class Section, class Member>
struct Place {
  Section Config::*section;
  Member Section::*member;
  Member& operator()(Config& config) const { return config.*section.*member; }
  const Member& operator()(const Config& config) const { return config.*section.*member; }
};

template <class Section, class Member>
Place<Section, Member> at(Section Config::*section, Member Section::*member) {
  return {section, member};
}

// Value codecs, one per kind of config/settings_table.hpp: <kind>_field(get, kind arguments...).
// `get` maps a (const or mutable) Config to the member the value lands in (a Place).

template <class Get>
ValueCodec text_field(Get get, TextCheck check = any_text) {
  return {[get, check](Config& config, const ValueSource& value, const Origin& origin, const Diagnostics& diag) {
            auto text = read_string(value, origin, diag);
            if (!text) return;
            if (auto problem = check(*text)) {
              diag.error(origin, *problem + got(value));
              return;
            }
            get(config) = std::move(*text);
          },
          [get](const Config& config, const RenderOptions&) { return toml_quote(get(config)); }};
}

// A secret with a companion `file` key that it may be read from: the value is never echoed.
template <class Section>
ValueCodec secret_field(Place<Section, std::string> get, std::string Section::*file) {
  return {[get](Config& config, const ValueSource& value, const Origin& origin, const Diagnostics& diag) {
            auto text = value.text();
            if (!text) {
              diag.error(origin, "expected a string");  // a secret: the value is not echoed
              return;
            }
            get(config) = std::move(*text);
          },
          [get, file](const Config& config, const RenderOptions&) {
            // A secret read from its file is not repeated inline: the dump names the file.
            if (!(config.*get.section.*file).empty() || get(config).empty()) return toml_quote("");
            return toml_quote(kMaskedSecret);
          }};
}

template <class Get>
ValueCodec boolean_field(Get get) {
  return {[get](Config& config, const ValueSource& value, const Origin& origin, const Diagnostics& diag) {
            if (auto flag = read_bool(value, origin, diag)) get(config) = *flag;
          },
          [get](const Config& config, const RenderOptions&) -> std::string { return get(config) ? "true" : "false"; }};
}

template <class Get>
ValueCodec integer_field(Get get, std::int64_t min, std::int64_t max) {
  return {[get, min, max](Config& config, const ValueSource& value, const Origin& origin, const Diagnostics& diag) {
            if (auto number = read_integer(value, origin, diag, min, max)) {
              using T = std::remove_reference_t<decltype(get(config))>;
              get(config) = static_cast<T>(*number);
            }
          },
          [get](const Config& config, const RenderOptions&) { return std::to_string(get(config)); }};
}

template <class Get>
ValueCodec size_field(Get get, std::uint64_t min) {
  return {[get, min](Config& config, const ValueSource& value, const Origin& origin, const Diagnostics& diag) {
            if (auto bytes = read_size(value, origin, diag, min)) get(config) = *bytes;
          },
          [get](const Config& config, const RenderOptions&) { return toml_quote(format_size(get(config))); }};
}

template <class Get>
ValueCodec duration_field(Get get, std::chrono::milliseconds min) {
  return {[get, min](Config& config, const ValueSource& value, const Origin& origin, const Diagnostics& diag) {
            if (auto duration = read_duration(value, origin, diag, min)) get(config) = *duration;
          },
          [get](const Config& config, const RenderOptions&) { return toml_quote(format_duration(get(config))); }};
}

// A string converted by `parse` (nullopt when wrong: "<expected>, got ..."), printed by `print`.
template <class Get, class Parse, class Print>
ValueCodec parsed_text(Get get, Parse parse, std::string expected, Print print) {
  return {
      [get, parse, expected](Config& config, const ValueSource& value, const Origin& origin, const Diagnostics& diag) {
        auto text = read_string(value, origin, diag);
        if (!text) return;
        auto parsed = parse(*text);
        if (!parsed) {
          diag.error(origin, expected + got(value));
          return;
        }
        get(config) = std::move(*parsed);
      },
      [get, print](const Config& config, const RenderOptions&) { return toml_quote(print(get(config))); }};
}

template <class Get, class E, std::size_t N>
ValueCodec one_of_field(Get get, const NameTable<E, N>& table) {
  return parsed_text(
      get, [&table](const std::string& text) { return parse_name(table, text); }, "expected " + describe_names(table),
      [&table](E value) { return name_of(table, value); });
}

// read_list's item conversion: `parse` the text, or say `problem`.
template <class Parse>
auto parsed_item(Parse parse, std::string problem) {
  return [parse, problem](const std::string& text, auto& out) -> std::optional<std::string> {
    out = parse(text);
    if (!out) return problem;
    return std::nullopt;
  };
}

// An array of strings, each converted by `convert` (see read_list); then `check` says what is wrong
// with the list as a whole, if anything.
template <class T, class Get, class Convert, class Check>
Assign assign_list(Get get, std::string expected, Convert convert, Check check) {
  return [get, expected, convert, check](Config& config, const ValueSource& value, const Origin& origin,
                                         const Diagnostics& diag) {
    auto list = read_list<T>(value, origin, diag, expected, convert);
    if (!list) return;
    if (std::optional<std::string> problem = check(*list, value)) {
      diag.error(origin, *problem);
      return;
    }
    get(config) = std::move(*list);
  };
}

inline constexpr auto any_list = [](const auto&, const ValueSource&) -> std::optional<std::string> {
  return std::nullopt;
};

template <class Get, class Print>
Render render_strings(Get get, Print print) {
  return [get, print](const Config& config, const RenderOptions&) { return render_list(get(config), print); };
}

template <class Get>
ValueCodec endpoint_list_field(Get get) {
  return {
      assign_list<Endpoint>(get, "\"host:port\" strings",
                            parsed_item([](const std::string& text) { return parse_endpoint(text); },
                                        "expected \"host:port\" like \"0.0.0.0:2525\" or \"[::]:2525\""),
                            [](const std::vector<Endpoint>& list, const ValueSource&) -> std::optional<std::string> {
                              if (list.empty()) return "needs at least one address";
                              return std::nullopt;
                            }),
      render_strings(get, [](const Endpoint& e) { return e.to_string(); })};
}

template <class Get>
ValueCodec endpoint_field(Get get) {
  return parsed_text(
      get, [](const std::string& text) { return parse_endpoint(text); },
      "expected \"host:port\" like \"127.0.0.1:8025\" or \"[::1]:8025\"",
      [](const Endpoint& e) { return e.to_string(); });
}

// An optional DNS server address; "" means none (the system resolver).
template <class Get>
ValueCodec dns_resolver_field(Get get) {
  return {[get](Config& config, const ValueSource& value, const Origin& origin, const Diagnostics& diag) {
            auto text = read_string(value, origin, diag);
            if (!text) return;
            if (text->empty()) {
              get(config).reset();
              return;
            }
            auto endpoint = parse_endpoint(*text, 53);
            // An IP address only: a name would need a resolver to find the resolver.
            // (parse_cidr of a bare address is a strict IP literal check.)
            if (!endpoint || endpoint->port == 0 || !parse_cidr(endpoint->host)) {
              diag.error(origin,
                         "expected an address with optional port like \"127.0.0.53\", \"9.9.9.9:53\" "
                         "or \"[::1]:53\"" +
                             got(value));
              return;
            }
            get(config) = std::move(*endpoint);
          },
          [get](const Config& config, const RenderOptions&) {
            return toml_quote(get(config) ? get(config)->to_string() : "");
          }};
}

// Selector names: DNS labels (letters, digits, '-', not at either end), at least one, none twice.
template <class Get>
ValueCodec selector_list_field(Get get) {
  const auto label = [](const std::string& text) -> std::optional<std::string> {
    const bool ok = !text.empty() && text.size() <= 63 && text.front() != '-' && text.back() != '-' &&
                    std::all_of(text.begin(), text.end(),
                                [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-'; });
    if (!ok) return std::nullopt;
    return text;
  };
  return {assign_list<std::string>(
              get, "selector names",
              parsed_item(label, "expected a selector: a DNS label of letters, digits and '-' like \"dkr1\""),
              [](const std::vector<std::string>& list, const ValueSource& value) -> std::optional<std::string> {
                if (list.empty()) return "needs at least one selector";
                auto sorted = list;
                std::sort(sorted.begin(), sorted.end());
                if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
                  return "lists a selector twice" + got(value);
                }
                return std::nullopt;
              }),
          render_strings(get, [](const std::string& s) { return s; })};
}

template <class Get>
ValueCodec cidr_list_field(Get get) {
  return {assign_list<Cidr>(get, "CIDR strings",
                            parsed_item([](const std::string& text) { return parse_cidr(text); },
                                        "expected a network like \"10.0.0.0/8\" or \"fd00::/8\" "
                                        "(no host bits beyond the prefix)"),
                            any_list),
          render_strings(get, [](const Cidr& c) { return c.to_string(); })};
}

template <class Get>
ValueCodec algorithm_list_field(Get get) {
  return {assign_list<SigningAlgorithm>(
              get, "algorithm names",
              parsed_item([](const std::string& text) { return parse_name(kSigningAlgorithmNames, text); },
                          "expected " + describe_names(kSigningAlgorithmNames)),
              [](const std::vector<SigningAlgorithm>& list, const ValueSource& value) -> std::optional<std::string> {
                if (list.empty()) return "needs at least one algorithm";
                auto sorted = list;
                std::sort(sorted.begin(), sorted.end());
                if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
                  return "lists an algorithm twice" + got(value);
                }
                return std::nullopt;
              }),
          render_strings(get, [](SigningAlgorithm a) { return std::string(to_string(a)); })};
}

template <class Get>
ValueCodec canonicalization_field(Get get) {
  return parsed_text(
      get, [](const std::string& text) { return parse_canonicalization(text); },
      "expected \"<header>/<body>\" with simple or relaxed, like \"relaxed/relaxed\"", canonicalization_name);
}

// RFC 5322 §3.6.8 field-name: printable ASCII except colon.
std::optional<std::string> header_field_name(const std::string& text) {
  const bool ok =
      !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c > 32 && c < 127 && c != ':'; });
  if (!ok) return std::nullopt;
  return text;
}

// A list of header field names; empty means the signer's default list, which `config show`
// prints from the RenderOptions member `default_list`.
template <class Get>
ValueCodec header_list_field(Get get, std::vector<std::string> RenderOptions::*default_list) {
  return {
      assign_list<std::string>(get, "header names",
                               parsed_item(header_field_name, "expected a header field name like \"From\""), any_list),
      [get, default_list](const Config& config, const RenderOptions& options) {
        const auto& list = get(config);
        return render_list(list.empty() ? options.*default_list : list, [](const std::string& s) { return s; });
      }};
}

Field make_field(std::string_view section, std::string_view key, SettingRole role, std::string_view doc,
                 ValueCodec codec) {
  return {section, key, role, doc, std::move(codec.assign), std::move(codec.render)};
}

std::vector<Field> make_fields() {
  constexpr std::int64_t kU32Max = std::numeric_limits<std::uint32_t>::max();
  std::vector<Field> fields;
// One row of config/settings_table.hpp: its kind's builder with the kind's arguments.
#define DKR_FIELD(section, member, key, type, default_value, role, doc, kind, ...) \
  fields.push_back(                                                                \
      make_field(section_table(#section), key, SettingRole::role, doc,             \
                 kind##_field(at(&Config::section, &decltype(Config::section)::member) __VA_OPT__(, ) __VA_ARGS__)));
  DKR_SETTINGS(DKR_FIELD)
#undef DKR_FIELD
  return fields;
}

}  // namespace

// [dns.publish] type: DKIM_RELAY_DNS_PUBLISH_TYPE.
std::string Field::env_name() const {
  std::string name = std::string(kEnvPrefix) + upper(section) + "_" + upper(key);
  std::replace(name.begin(), name.end(), '.', '_');
  return name;
}

const std::vector<Field>& fields() {
  static const std::vector<Field> all = make_fields();
  return all;
}

const std::vector<std::string_view>& section_names() {
  static const std::vector<std::string_view> names{"relay", "upstream",    "signing", "keystore", "pkcs11",  "admin",
                                                   "dns",   "dns.publish", "log",     "metrics",  "rotation"};
  return names;
}

const Field* find_field(std::string_view section, std::string_view key) {
  for (const auto& field : fields()) {
    if (field.section == section && field.key == key) return &field;
  }
  return nullptr;
}

void assign_auth_user_name(AuthUser& user, const ValueSource& value, const Origin& origin,
                           const Diagnostics& diagnostics) {
  auto text = read_string(value, origin, diagnostics);
  if (!text) return;
  const bool ok = !text->empty() && std::none_of(text->begin(), text->end(),
                                                 [](char c) { return static_cast<unsigned char>(c) < 32 || c == 127; });
  if (!ok) {
    diagnostics.error(origin, "expected a non-empty user name without control characters" + got(value));
    return;
  }
  user.name = std::move(*text);
}

void assign_auth_user_hash(AuthUser& user, const ValueSource& value, const Origin& origin,
                           const Diagnostics& diagnostics) {
  auto text = value.text();
  if (!text) {
    diagnostics.error(origin, "expected a string");  // the value is a secret: not echoed
    return;
  }
  if (auto problem = password_hash_problem(*text)) {
    diagnostics.error(origin, *problem);  // not echoed either
    return;
  }
  user.password_hash = std::move(*text);
}

}  // namespace dkr::config::detail
