#include "dns/dkim_record.hpp"

namespace dkr::dns {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

}  // namespace

std::string dkim_record_name(std::string_view selector, std::string_view domain) {
  std::string name(selector);
  name += "._domainkey.";
  name += domain;
  if (!name.empty() && name.back() == '.') name.pop_back();
  return name;
}

std::optional<std::string> dkim_public_key(std::string_view txt_value) {
  std::optional<std::string> key;
  std::size_t start = 0;
  while (start <= txt_value.size()) {
    std::size_t end = txt_value.find(';', start);
    if (end == std::string_view::npos) end = txt_value.size();
    const std::string_view spec = trim(txt_value.substr(start, end - start));
    start = end + 1;
    if (spec.empty()) continue;
    const auto eq = spec.find('=');
    if (eq == std::string_view::npos) return std::nullopt;  // not a tag-list
    const std::string_view tag = trim(spec.substr(0, eq));
    const std::string_view value = trim(spec.substr(eq + 1));
    if (tag == "v" && value != "DKIM1") return std::nullopt;
    if (tag == "p") {
      std::string compact;
      for (const char c : value) {
        if (!is_space(c)) compact += c;
      }
      key = std::move(compact);
    }
  }
  return key;
}

}  // namespace dkr::dns
