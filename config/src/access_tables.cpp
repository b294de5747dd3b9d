#include "access_tables.hpp"

#include <algorithm>
#include <cctype>

#include "enum_names.hpp"
#include "text_checks.hpp"
#include "value_readers.hpp"
#include "common/ascii.hpp"

namespace dkr::config::detail {

std::optional<std::string> domain_pattern_problem(std::string_view pattern) {
  static const std::string kExpected = "expected \"example.com\", \"*.example.com\" or \"*\"";
  if (pattern == "*") return std::nullopt;
  std::string_view domain = pattern.starts_with("*.") ? pattern.substr(2) : pattern;
  if (domain.empty() || domain.find('*') != std::string_view::npos || domain_check(domain)) return kExpected;
  return std::nullopt;
}

void assign_domain_patterns(DomainPatterns& out, const ValueSource& value, const Origin& origin,
                            const Diagnostics& diagnostics) {
  auto list = read_list<std::string>(
      value, origin, diagnostics, "domain patterns",
      [](const std::string& text, std::optional<std::string>& converted) -> std::optional<std::string> {
        if (auto problem = domain_pattern_problem(text)) return problem;
        converted = lowercase(text);
        return std::nullopt;
      });
  if (!list) return;
  if (list->empty()) {
    // An empty list would be read as "nothing" by one operator and "anything" by the next.
    diagnostics.error(origin, "needs at least one domain; write \"*\" for any domain");
    return;
  }
  out = std::move(*list);
}

bool assign_relay_client_key(RelayClient& client, std::string_view key, const ValueSource& value, const Origin& origin,
                             const Diagnostics& diagnostics) {
  if (key == "domains") {
    assign_domain_patterns(client.domains, value, origin, diagnostics);
    return true;
  }
  if (key != "networks") return false;
  auto list = read_list<Cidr>(value, origin, diagnostics, "CIDR strings",
                              [](const std::string& text, std::optional<Cidr>& out) -> std::optional<std::string> {
                                out = parse_cidr(text);
                                if (!out) return "expected a network like \"10.0.0.0/8\" or \"fd00::/8\"";
                                return std::nullopt;
                              });
  if (!list) return true;
  if (list->empty()) {
    diagnostics.error(origin, "needs at least one network");
    return true;
  }
  client.networks = std::move(*list);
  return true;
}

bool assign_admin_token_key(AdminTokenConfig& token, std::string_view key, const ValueSource& value,
                            const Origin& origin, const Diagnostics& diagnostics) {
  if (key == "domains") {
    assign_domain_patterns(token.domains, value, origin, diagnostics);
  } else if (key == "name") {
    auto text = read_string(value, origin, diagnostics);
    if (!text) return true;
    const bool ok = !text->empty() && text->size() <= 64 && std::all_of(text->begin(), text->end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    });
    if (!ok) {
      diagnostics.error(origin, "expected a name of letters, digits, '-', '_' or '.' (at most 64)" + got(value));
      return true;
    }
    token.name = std::move(*text);
  } else if (key == "token_file") {
    auto text = read_string(value, origin, diagnostics);
    if (!text) return true;
    if (auto problem = non_empty(*text)) {
      diagnostics.error(origin, *problem + got(value));
      return true;
    }
    token.token_file = std::move(*text);
  } else if (key == "role") {
    auto text = read_string(value, origin, diagnostics);
    if (!text) return true;
    auto role = parse_name(kAdminRoleNames, *text);
    if (!role) {
      diagnostics.error(origin, "expected " + describe_names(kAdminRoleNames) + got(value));
      return true;
    }
    token.role = *role;
  } else {
    return false;
  }
  return true;
}

}  // namespace dkr::config::detail
