#include "text_checks.hpp"

#include <algorithm>
#include <cctype>

#include "common/password_hash_format.hpp"
#include "config/config.hpp"

namespace dkr::config::detail {

std::optional<std::string> non_empty(std::string_view text) {
  if (text.empty()) return "must not be empty";
  return std::nullopt;
}

std::optional<std::string> any_text(std::string_view) { return std::nullopt; }

std::optional<std::string> hostname_check(std::string_view text) {
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (!(std::isalnum(u) || c == '.' || c == '-' || c == '_')) {
      return "expected a host name (letters, digits, '.', '-')";
    }
  }
  return std::nullopt;
}

std::optional<std::string> domain_check(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (text.front() == '.' || text.back() == '.' || text.find("..") != std::string_view::npos) {
    return "expected a domain name like \"example.com\"";
  }
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    // Bytes >= 0x80: U-labels are allowed; the key store converts them to A-labels.
    if (u < 0x80 && !(std::isalnum(u) || c == '.' || c == '-' || c == '_')) {
      return "expected a domain name like \"example.com\"";
    }
  }
  return std::nullopt;
}

std::optional<std::string> env_var_name_check(std::string_view text) {
  if (text.empty()) return std::nullopt;
  const bool ok = !std::isdigit(static_cast<unsigned char>(text.front())) &&
                  std::all_of(text.begin(), text.end(),
                              [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
  if (!ok) return "expected an environment variable name (letters, digits, '_')";
  return std::nullopt;
}

// Lowercase letters, digits and '_' need no quoting anywhere, and the keystore's notification channel
// (<schema>_changes) must stay within PostgreSQL's 63-byte identifiers.
std::optional<std::string> sql_schema_check(std::string_view text) {
  const bool ok = !text.empty() && text.size() <= 55 && !std::isdigit(static_cast<unsigned char>(text.front())) &&
                  std::all_of(text.begin(), text.end(),
                              [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
  if (!ok) return "expected a schema name of 1..55 lowercase letters, digits and '_', not starting with a digit";
  return std::nullopt;
}

// strftime fields that expand to digits only, so that a selector stays a valid DNS label.
std::optional<std::string> selector_pattern_check(std::string_view text) {
  if (text.empty()) return "must not be empty";
  static constexpr std::string_view kNumericFields = "YmdHMSyjUWVGgu";
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 1 >= text.size() || kNumericFields.find(text[i + 1]) == std::string_view::npos) {
        return "only numeric strftime fields (%Y %m %d %H %M %S %y %j %U %W %V %G %g %u) are allowed";
      }
      ++i;
    } else if (c == '{') {
      if (text.substr(i, 5) != "{seq}") return "the only placeholder is {seq}";
      i += 4;
    } else if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-')) {
      return "a selector may contain only letters, digits and '-' besides %-fields and {seq}";
    }
  }
  return std::nullopt;
}

// The one parser AUTH uses too (common/password_hash_format.hpp): a hash that loads is one that can
// verify.
std::optional<std::string> password_hash_problem(std::string_view hash) {
  if (hash == kMaskedSecret) return std::nullopt;
  auto parsed = parse_password_hash(hash);
  if (!parsed) return parsed.error().message;
  return std::nullopt;
}

}  // namespace dkr::config::detail
