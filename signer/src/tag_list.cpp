#include "tag_list.hpp"

namespace dkr::signer {

namespace {
bool is_fws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim_fws(std::string_view s) {
  while (!s.empty() && is_fws(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_fws(s.back())) s.remove_suffix(1);
  return s;
}

bool valid_tag_name(std::string_view name) {
  if (name.empty()) return false;
  const auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!alpha(name.front())) return false;
  for (char c : name)
    if (!alpha(c) && !(c >= '0' && c <= '9') && c != '_') return false;
  return true;
}
}  // namespace

Result<TagList> TagList::parse(std::string_view text) {
  TagList list;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto semi = text.find(';', pos);
    if (semi == std::string_view::npos) semi = text.size();
    const std::string_view spec = text.substr(pos, semi - pos);
    pos = semi + 1;
    if (trim_fws(spec).empty()) {
      if (semi == text.size()) break;
      continue;  // a trailing ";" (or an empty spec) is allowed
    }
    const auto eq = spec.find('=');
    if (eq == std::string_view::npos) return make_error("tag without '=': " + std::string(trim_fws(spec)));
    const std::string_view name = trim_fws(spec.substr(0, eq));
    if (!valid_tag_name(name)) return make_error("bad tag name '" + std::string(name) + "'");
    if (list.find(name) != nullptr) return make_error("duplicate tag " + std::string(name) + "=");
    list.tags_.push_back(Tag{std::string(name), std::string(trim_fws(spec.substr(eq + 1)))});
    if (semi == text.size()) break;
  }
  return list;
}

const std::string* TagList::find(std::string_view name) const {
  for (const auto& tag : tags_)
    if (tag.name == name) return &tag.value;
  return nullptr;
}

std::string strip_fws(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text)
    if (!is_fws(c)) out += c;
  return out;
}

}  // namespace dkr::signer
