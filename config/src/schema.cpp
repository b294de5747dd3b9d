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

// Field builders. `get` maps a (const or mutable) Config to the member the field stores in.

template <class Get>
Field string_field(std::string_view section, std::string_view key, Get get, TextCheck check = any_text) {
  return {section, key,
          [get, check](Config& config, const ValueSource& value, const Origin& origin, const Diagnostics& diag) {
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

template <class Get>
Field bool_field(std::string_view section, std::string_view key, Get get) {
  return {section, key,
          [get](Config& config, const ValueSource& value, const Origin& origin, const Diagnostics& diag) {
            if (auto flag = read_bool(value, origin, diag)) get(config) = *flag;
          },
          [get](const Config& config, const RenderOptions&) -> std::string { return get(config) ? "true" : "false"; }};
}

template <class Get>
Field integer_field(std::string_view section, std::string_view key, Get get, std::int64_t min,
                    std::int64_t max = std::numeric_limits<std::uint32_t>::max()) {
  return {section, key,
          [get, min, max](Config& config, const ValueSource& value, const Origin& origin, const Diagnostics& diag) {
            if (auto number = read_integer(value, origin, diag, min, max)) {
              using T = std::remove_reference_t<decltype(get(config))>;
              get(config) = static_cast<T>(*number);
            }
          },
          [get](const Config& config, const RenderOptions&) { return std::to_string(get(config)); }};
}

template <class Get>
Field size_field(std::string_view section, std::string_view key, Get get, std::uint64_t min) {
  return {section, key,
          [get, min](Config& config, const ValueSource& value, const Origin& origin, const Diagnostics& diag) {
            if (auto bytes = read_size(value, origin, diag, min)) get(config) = *bytes;
          },
          [get](const Config& config, const RenderOptions&) { return toml_quote(format_size(get(config))); }};
}

template <class Get>
Field duration_field(std::string_view section, std::string_view key, Get get, std::chrono::milliseconds min) {
  return {section, key,
          [get, min](Config& config, const ValueSource& value, const Origin& origin, const Diagnostics& diag) {
            if (auto duration = read_duration(value, origin, diag, min)) get(config) = *duration;
          },
          [get](const Config& config, const RenderOptions&) { return toml_quote(format_duration(get(config))); }};
}

template <class E, std::size_t N, class Get>
Field enum_field(std::string_view section, std::string_view key, const NameTable<E, N>& table, Get get) {
  return {
      section, key,
      [get, &table](Config& config, const ValueSource& value, const Origin& origin, const Diagnostics& diag) {
        auto text = read_string(value, origin, diag);
        if (!text) return;
        auto parsed = parse_name(table, *text);
        if (!parsed) {
          diag.error(origin, "expected " + describe_names(table) + got(value));
          return;
        }
        get(config) = *parsed;
      },
      [get, &table](const Config& config, const RenderOptions&) { return toml_quote(name_of(table, get(config))); }};
}

template <class Get>
Field listen_list_field(std::string_view section, std::string_view key, Get get) {
  return {section, key,
          [get](Config& config, const ValueSource& value, const Origin& origin, const Diagnostics& diag) {
            auto list = read_list<Endpoint>(
                value, origin, diag, "\"host:port\" strings",
                [](const std::string& text, std::optional<Endpoint>& out) -> std::optional<std::string> {
                  out = parse_endpoint(text);
                  if (!out) return "expected \"host:port\" like \"0.0.0.0:2525\" or \"[::]:2525\"";
                  return std::nullopt;
                });
            if (!list) return;
            if (list->empty()) {
              diag.error(origin, "needs at least one address");
              return;
            }
            get(config) = std::move(*list);
          },
          [get](const Config& config, const RenderOptions&) {
            return render_list(get(config), [](const Endpoint& e) { return e.to_string(); });
          }};
}

template <class Get>
Field listen_field(std::string_view section, std::string_view key, Get get) {
  return {section, key,
          [get](Config& config, const ValueSource& value, const Origin& origin, const Diagnostics& diag) {
            auto text = read_string(value, origin, diag);
            if (!text) return;
            auto endpoint = parse_endpoint(*text);
            if (!endpoint) {
              diag.error(origin, "expected \"host:port\" like \"127.0.0.1:8025\" or \"[::1]:8025\"" + got(value));
              return;
            }
            get(config) = std::move(*endpoint);
          },
          [get](const Config& config, const RenderOptions&) { return toml_quote(get(config).to_string()); }};
}

// A list of header field names; empty means the signer's default list.
template <class Get, class Default>
Field header_list_field(std::string_view section, std::string_view key, Get get, Default default_list) {
  return {section, key,
          [get](Config& config, const ValueSource& value, const Origin& origin, const Diagnostics& diag) {
            auto list = read_list<std::string>(
                value, origin, diag, "header names",
                [](const std::string& text, std::optional<std::string>& out) -> std::optional<std::string> {
                  // RFC 5322 §3.6.8 field-name: printable ASCII except colon.
                  const bool ok = !text.empty() && std::all_of(text.begin(), text.end(),
                                                               [](char c) { return c > 32 && c < 127 && c != ':'; });
                  if (!ok) return "expected a header field name like \"From\"";
                  out = text;
                  return std::nullopt;
                });
            if (list) get(config) = std::move(*list);
          },
          [get, default_list](const Config& config, const RenderOptions& options) {
            const auto& list = get(config);
            return render_list(list.empty() ? default_list(options) : list, [](const std::string& s) { return s; });
          }};
}

std::vector<Field> make_fields() {
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  constexpr std::int64_t kU32Max = std::numeric_limits<std::uint32_t>::max();
  std::vector<Field> f;

  // [relay]
  f.push_back(listen_list_field(
      "relay", "listen", [](auto& c) -> auto& { return c.relay.listen; }));
  f.push_back(string_field(
      "relay", "hostname", [](auto& c) -> auto& { return c.relay.hostname; }, hostname_check));
  f.push_back(size_field(
      "relay", "max_message_size", [](auto& c) -> auto& { return c.relay.max_message_size; }, 1));
  f.push_back({"relay", "allowed_networks",
               [](Config& config, const ValueSource& value, const Origin& origin, const Diagnostics& diag) {
                 auto list = read_list<Cidr>(
                     value, origin, diag, "CIDR strings",
                     [](const std::string& text, std::optional<Cidr>& out) -> std::optional<std::string> {
                       out = parse_cidr(text);
                       if (!out) {
                         return "expected a network like \"10.0.0.0/8\" or \"fd00::/8\" "
                                "(no host bits beyond the prefix)";
                       }
                       return std::nullopt;
                     });
                 if (list) config.relay.allowed_networks = std::move(*list);
               },
               [](const Config& config, const RenderOptions&) {
                 return render_list(config.relay.allowed_networks, [](const Cidr& c) { return c.to_string(); });
               }});
  f.push_back(string_field(
      "relay", "tls_cert", [](auto& c) -> auto& { return c.relay.tls_cert; }));
  f.push_back(string_field(
      "relay", "tls_key", [](auto& c) -> auto& { return c.relay.tls_key; }));
  f.push_back(bool_field(
      "relay", "require_auth", [](auto& c) -> auto& { return c.relay.require_auth; }));
  f.push_back(bool_field(
      "relay", "allow_auth_without_tls", [](auto& c) -> auto& { return c.relay.allow_auth_without_tls; }));
  f.push_back(enum_field(
      "relay", "unsigned", kUnsignedPolicyNames, [](auto& c) -> auto& { return c.relay.unsigned_policy; }));
  f.push_back(enum_field(
      "relay", "bare_line_endings", kBareLineEndingsNames, [](auto& c) -> auto& { return c.relay.bare_line_endings; }));
  f.push_back(integer_field(
      "relay", "max_recipients", [](auto& c) -> auto& { return c.relay.max_recipients; }, 1, kU32Max));
  f.push_back(integer_field(
      "relay", "max_messages_per_connection", [](auto& c) -> auto& { return c.relay.max_messages_per_connection; }, 1,
      kU32Max));
  f.push_back(integer_field(
      "relay", "max_connections", [](auto& c) -> auto& { return c.relay.max_connections; }, 1, kU32Max));
  f.push_back(integer_field(
      "relay", "max_connections_per_ip", [](auto& c) -> auto& { return c.relay.max_connections_per_ip; }, 1, kU32Max));
  f.push_back(bool_field(
      "relay", "per_ip_limit_applies_to_loopback",
      [](auto& c) -> auto& { return c.relay.per_ip_limit_applies_to_loopback; }));
  f.push_back(integer_field(
      "relay", "max_command_line", [](auto& c) -> auto& { return c.relay.max_command_line; }, 1, kU32Max));
  f.push_back(integer_field(
      "relay", "max_text_line", [](auto& c) -> auto& { return c.relay.max_text_line; }, 1, kU32Max));
  f.push_back(integer_field(
      "relay", "max_bad_commands", [](auto& c) -> auto& { return c.relay.max_bad_commands; }, 1, kU32Max));
  f.push_back(integer_field(
      "relay", "auth_threads", [](auto& c) -> auto& { return c.relay.auth_threads; }, 1, 64));
  f.push_back(integer_field(
      "relay", "auth_queue", [](auto& c) -> auto& { return c.relay.auth_queue; }, 0, 100000));
  f.push_back(duration_field(
      "relay", "auth_failure_delay_max", [](auto& c) -> auto& { return c.relay.auth_failure_delay_max; },
      milliseconds(0)));
  f.push_back(duration_field(
      "relay", "command_timeout", [](auto& c) -> auto& { return c.relay.command_timeout; }, milliseconds(1)));
  f.push_back(duration_field(
      "relay", "data_timeout", [](auto& c) -> auto& { return c.relay.data_timeout; }, milliseconds(1)));
  f.push_back(integer_field(
      "relay", "min_data_rate", [](auto& c) -> auto& { return c.relay.min_data_rate; }, 0, kU32Max));
  f.push_back(duration_field(
      "relay", "idle_timeout", [](auto& c) -> auto& { return c.relay.idle_timeout; }, milliseconds(1)));
  f.push_back(duration_field(
      "relay", "stress_idle_timeout", [](auto& c) -> auto& { return c.relay.stress_idle_timeout; }, milliseconds(1)));
  f.push_back(duration_field(
      "relay", "stress_command_timeout", [](auto& c) -> auto& { return c.relay.stress_command_timeout; },
      milliseconds(1)));
  f.push_back(duration_field(
      "relay", "stress_data_timeout", [](auto& c) -> auto& { return c.relay.stress_data_timeout; }, milliseconds(1)));
  f.push_back(size_field(
      "relay", "spill_threshold", [](auto& c) -> auto& { return c.relay.spill_threshold; }, 0));
  f.push_back(string_field(
      "relay", "spill_directory", [](auto& c) -> auto& { return c.relay.spill_directory; }));
  f.push_back(integer_field(
      "relay", "threads", [](auto& c) -> auto& { return c.relay.threads; }, 0, 1024));
  f.push_back(duration_field(
      "relay", "shutdown_grace", [](auto& c) -> auto& { return c.relay.shutdown_grace; }, milliseconds(0)));

  // [upstream]
  f.push_back(enum_field(
      "upstream", "type", kUpstreamTypeNames, [](auto& c) -> auto& { return c.upstream.type; }));
  f.push_back(string_field(
      "upstream", "host", [](auto& c) -> auto& { return c.upstream.host; }, non_empty));
  f.push_back(integer_field(
      "upstream", "port", [](auto& c) -> auto& { return c.upstream.port; }, 1, 65535));
  f.push_back(enum_field(
      "upstream", "starttls", kStartTlsNames, [](auto& c) -> auto& { return c.upstream.starttls; }));
  f.push_back(string_field(
      "upstream", "ca_file", [](auto& c) -> auto& { return c.upstream.ca_file; }));
  f.push_back(bool_field(
      "upstream", "verify_hostname", [](auto& c) -> auto& { return c.upstream.verify_hostname; }));
  f.push_back(string_field(
      "upstream", "username", [](auto& c) -> auto& { return c.upstream.username; }));
  f.push_back(string_field(
      "upstream", "password_file", [](auto& c) -> auto& { return c.upstream.password_file; }));
  f.push_back({"upstream", "password",
               [](Config& config, const ValueSource& value, const Origin& origin, const Diagnostics& diag) {
                 auto text = value.text();
                 if (!text) {
                   diag.error(origin, "expected a string");  // a secret: the value is not echoed
                   return;
                 }
                 config.upstream.password = std::move(*text);
               },
               [](const Config& config, const RenderOptions&) {
                 // A password read from password_file is not repeated inline: the dump names the file.
                 if (!config.upstream.password_file.empty() || config.upstream.password.empty()) {
                   return toml_quote("");
                 }
                 return toml_quote(kMaskedSecret);
               }});
  f.push_back(string_field(
      "upstream", "directory", [](auto& c) -> auto& { return c.upstream.directory; }, non_empty));
  f.push_back(duration_field(
      "upstream", "connect_timeout", [](auto& c) -> auto& { return c.upstream.connect_timeout; }, milliseconds(1)));
  f.push_back(duration_field(
      "upstream", "command_timeout", [](auto& c) -> auto& { return c.upstream.command_timeout; }, milliseconds(1)));
  f.push_back(integer_field(
      "upstream", "pool_size", [](auto& c) -> auto& { return c.upstream.pool_size; }, 1, 1024));

  // [signing]
  f.push_back({"signing", "algorithms",
               [](Config& config, const ValueSource& value, const Origin& origin, const Diagnostics& diag) {
                 auto list = read_list<SigningAlgorithm>(
                     value, origin, diag, "algorithm names",
                     [](const std::string& text, std::optional<SigningAlgorithm>& out) -> std::optional<std::string> {
                       out = parse_name(kSigningAlgorithmNames, text);
                       if (!out) return "expected " + describe_names(kSigningAlgorithmNames);
                       return std::nullopt;
                     });
                 if (!list) return;
                 if (list->empty()) {
                   diag.error(origin, "needs at least one algorithm");
                   return;
                 }
                 auto sorted = *list;
                 std::sort(sorted.begin(), sorted.end());
                 if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
                   diag.error(origin, "lists an algorithm twice" + got(value));
                   return;
                 }
                 config.signing.algorithms = std::move(*list);
               },
               [](const Config& config, const RenderOptions&) {
                 return render_list(config.signing.algorithms,
                                    [](SigningAlgorithm a) { return std::string(to_string(a)); });
               }});
  f.push_back({"signing", "canonicalization",
               [](Config& config, const ValueSource& value, const Origin& origin, const Diagnostics& diag) {
                 auto text = read_string(value, origin, diag);
                 if (!text) return;
                 auto canon = parse_canonicalization(*text);
                 if (!canon) {
                   diag.error(origin, "expected \"<header>/<body>\" with simple or relaxed, like \"relaxed/relaxed\"" +
                                          got(value));
                   return;
                 }
                 config.signing.canonicalization = *canon;
               },
               [](const Config& config, const RenderOptions&) {
                 return toml_quote(canonicalization_name(config.signing.canonicalization));
               }});
  f.push_back(header_list_field(
      "signing", "headers", [](auto& c) -> auto& { return c.signing.headers; },
      [](const RenderOptions& o) { return o.default_signed_headers; }));
  f.push_back(header_list_field(
      "signing", "oversign", [](auto& c) -> auto& { return c.signing.oversign; },
      [](const RenderOptions& o) { return o.default_oversigned_headers; }));
  f.push_back(duration_field(
      "signing", "expire_after", [](auto& c) -> auto& { return c.signing.expire_after; }, milliseconds(0)));
  f.push_back(bool_field(
      "signing", "allow_weak_rsa", [](auto& c) -> auto& { return c.signing.allow_weak_rsa; }));

  // [keystore]
  f.push_back(enum_field(
      "keystore", "type", kKeystoreTypeNames, [](auto& c) -> auto& { return c.keystore.type; }));
  f.push_back(string_field(
      "keystore", "path", [](auto& c) -> auto& { return c.keystore.path; }, non_empty));
  f.push_back(string_field(
      "keystore", "selector_pattern", [](auto& c) -> auto& { return c.keystore.selector_pattern; },
      selector_pattern_check));
  f.push_back(bool_field(
      "keystore", "watch", [](auto& c) -> auto& { return c.keystore.watch; }));
  f.push_back(string_field(
      "keystore", "demo_domain", [](auto& c) -> auto& { return c.keystore.demo_domain; }, domain_check));
  f.push_back({"keystore", "dsn",
               [](Config& config, const ValueSource& value, const Origin& origin, const Diagnostics& diag) {
                 auto text = value.text();
                 if (!text) {
                   diag.error(origin, "expected a string");  // may hold a password: the value is not echoed
                   return;
                 }
                 config.keystore.dsn = std::move(*text);
               },
               [](const Config& config, const RenderOptions&) {
                 if (!config.keystore.dsn_file.empty() || config.keystore.dsn.empty()) return toml_quote("");
                 return toml_quote(kMaskedSecret);
               }});
  f.push_back(string_field(
      "keystore", "dsn_file", [](auto& c) -> auto& { return c.keystore.dsn_file; }));
  f.push_back(string_field(
      "keystore", "kek_file", [](auto& c) -> auto& { return c.keystore.kek_file; }));
  f.push_back(string_field(
      "keystore", "schema", [](auto& c) -> auto& { return c.keystore.schema; }, sql_schema_check));
  f.push_back(duration_field(
      "keystore", "poll_interval", [](auto& c) -> auto& { return c.keystore.poll_interval; }, seconds(1)));

  // [admin]
  f.push_back(bool_field(
      "admin", "enabled", [](auto& c) -> auto& { return c.admin.enabled; }));
  f.push_back(listen_field(
      "admin", "listen", [](auto& c) -> auto& { return c.admin.listen; }));
  f.push_back(string_field(
      "admin", "token_file", [](auto& c) -> auto& { return c.admin.token_file; }));
  f.push_back(string_field(
      "admin", "token_env", [](auto& c) -> auto& { return c.admin.token_env; }, env_var_name_check));
  f.push_back(string_field(
      "admin", "tls_cert", [](auto& c) -> auto& { return c.admin.tls_cert; }));
  f.push_back(string_field(
      "admin", "tls_key", [](auto& c) -> auto& { return c.admin.tls_key; }));
  f.push_back({"admin", "dns_resolver",
               [](Config& config, const ValueSource& value, const Origin& origin, const Diagnostics& diag) {
                 auto text = read_string(value, origin, diag);
                 if (!text) return;
                 if (text->empty()) {
                   config.admin.dns_resolver.reset();
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
                 config.admin.dns_resolver = std::move(*endpoint);
               },
               [](const Config& config, const RenderOptions&) {
                 return toml_quote(config.admin.dns_resolver ? config.admin.dns_resolver->to_string() : "");
               }});
  f.push_back(duration_field(
      "admin", "dns_timeout", [](auto& c) -> auto& { return c.admin.dns_timeout; }, milliseconds(1)));
  f.push_back(duration_field(
      "admin", "dns_check_interval", [](auto& c) -> auto& { return c.admin.dns_check_interval; }, seconds(1)));
  f.push_back(bool_field(
      "admin", "per_domain_metrics", [](auto& c) -> auto& { return c.admin.per_domain_metrics; }));
  f.push_back(size_field(
      "admin", "max_body_size", [](auto& c) -> auto& { return c.admin.max_body_size; }, 1));
  f.push_back(integer_field(
      "admin", "max_connections", [](auto& c) -> auto& { return c.admin.max_connections; }, 1, 65535));
  f.push_back(duration_field(
      "admin", "idle_timeout", [](auto& c) -> auto& { return c.admin.idle_timeout; }, milliseconds(1)));
  f.push_back(bool_field(
      "admin", "allow_plaintext", [](auto& c) -> auto& { return c.admin.allow_plaintext; }));

  // [log]
  f.push_back(enum_field(
      "log", "level", kLogLevelNames, [](auto& c) -> auto& { return c.log.level; }));
  f.push_back(enum_field(
      "log", "format", kLogFormatNames, [](auto& c) -> auto& { return c.log.format; }));
  return f;
}

}  // namespace

std::string Field::env_name() const { return std::string(kEnvPrefix) + upper(section) + "_" + upper(key); }

const std::vector<Field>& fields() {
  static const std::vector<Field> all = make_fields();
  return all;
}

const std::vector<std::string_view>& section_names() {
  static const std::vector<std::string_view> names{"relay", "upstream", "signing", "keystore", "admin", "log"};
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
