#include "keystore/dsn_redaction.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

namespace dkr::keystore {
namespace {

constexpr std::string_view kRedacted = "[redacted]";

bool is_space_or_quote(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0 || c == '"' || c == '\''; }

std::string percent_decoded(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

// The password of every "user:password@" in `text` (a URI's userinfo, well formed or not).
void userinfo_passwords(std::string_view text, std::vector<std::string>& out) {
  for (std::size_t at = text.find('@'); at != std::string_view::npos; at = text.find('@', at + 1)) {
    std::size_t start = at;
    while (start > 0 && !is_space_or_quote(text[start - 1]) && text[start - 1] != '/') --start;
    const std::string_view userinfo = text.substr(start, at - start);
    const std::size_t colon = userinfo.find(':');
    if (colon != std::string_view::npos && colon + 1 < userinfo.size()) out.emplace_back(userinfo.substr(colon + 1));
  }
}

// The value of every "password=value" (keyword form, or a URI query parameter), quoted or not.
void keyword_passwords(std::string_view text, std::vector<std::string>& out) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (std::size_t at = lower.find("password"); at != std::string::npos; at = lower.find("password", at + 1)) {
    std::size_t i = at + 8;
    while (i < text.size() && text[i] == ' ') ++i;
    if (i >= text.size() || text[i] != '=') continue;
    ++i;
    while (i < text.size() && text[i] == ' ') ++i;
    std::string value;
    if (i < text.size() && text[i] == '\'') {
      for (++i; i < text.size() && text[i] != '\''; ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;
        value.push_back(text[i]);
      }
    } else {
      while (i < text.size() && !is_space_or_quote(text[i]) && text[i] != '&') value.push_back(text[i++]);
    }
    if (!value.empty()) out.push_back(value);
  }
}

void replace_all(std::string& text, const std::string& secret) {
  if (secret.empty()) return;
  for (std::size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + kRedacted.size())) {
    text.replace(at, secret.size(), kRedacted);
  }
}

}  // namespace

std::string redact_dsn_secrets(std::string_view message, std::string_view dsn) {
  std::vector<std::string> secrets;
  userinfo_passwords(dsn, secrets);
  keyword_passwords(dsn, secrets);
  userinfo_passwords(message, secrets);
  keyword_passwords(message, secrets);
  const std::size_t found = secrets.size();
  for (std::size_t i = 0; i < found; ++i) secrets.push_back(percent_decoded(secrets[i]));
  // Longest first, so a secret that contains another is replaced whole.
  std::sort(secrets.begin(), secrets.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  std::string out(message);
  for (const std::string& secret : secrets) replace_all(out, secret);
  return out;
}

}  // namespace dkr::keystore
