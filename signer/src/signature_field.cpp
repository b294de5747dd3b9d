#include "signature_field.hpp"

#include <unordered_map>

#include "signer/canonicalization.hpp"

namespace dkr::signer {

namespace {
constexpr std::size_t kMaxLine = 78;
constexpr std::string_view kFold = "\r\n\t";

class FieldFolder {
 public:
  explicit FieldFolder(std::string start) : text_(std::move(start)), column_(text_.size()) {}

  // A token that must not be split: on this line after a space, or on a new line.
  void add_whole(std::string_view token) {
    if (column_ + 1 + token.size() > kMaxLine) {
      new_line();
    } else {
      text_ += ' ';
      ++column_;
    }
    append(token);
  }

  // A token that may be split anywhere (base64): starts after a space, continues over lines.
  void add_breakable(std::string_view prefix, std::string_view value, bool own_line) {
    if (own_line || column_ + 1 + prefix.size() + 1 > kMaxLine) {
      new_line();
    } else {
      text_ += ' ';
      ++column_;
    }
    append(prefix);
    while (!value.empty()) {
      if (column_ >= kMaxLine) new_line();
      const std::size_t take = std::min(value.size(), kMaxLine - column_);
      append(value.substr(0, take));
      value.remove_prefix(take);
    }
  }

  std::string& text() { return text_; }
  std::size_t column() const { return column_; }
  void new_line() {
    text_ += kFold;
    column_ = 1;  // the tab counts as one column for the 78-column rule
  }
  void append(std::string_view s) {
    text_ += s;
    column_ += s.size();
  }

 private:
  std::string text_;
  std::size_t column_;
};
}  // namespace

void append_signed_headers(std::string& out, Canon canon, const std::vector<HeaderField>& headers,
                           const std::vector<std::string>& signed_names) {
  // Next instance to use per name, counted from the bottom.
  std::unordered_map<std::string, std::size_t> used;
  for (const auto& name : signed_names) {
    const std::string key = ascii_lower(name);
    std::size_t& skip = used[key];
    std::size_t seen = 0;
    for (auto it = headers.rbegin(); it != headers.rend(); ++it) {
      if (!header_name_equals(it->name, key)) continue;
      if (seen++ == skip) {
        out += canonicalize_header(canon, it->raw);
        break;
      }
    }
    ++skip;
  }
}

std::string canonicalize_signature_field(Canon canon, std::string_view raw_field) {
  std::string out = canonicalize_header(canon, raw_field);
  out.resize(out.size() - 2);  // §3.7: the signature field itself is hashed without its CRLF
  return out;
}

std::string fold_signature_field(const SignatureTags& tags, std::string_view signature_b64) {
  FieldFolder folder("DKIM-Signature:");
  for (const auto& tag : tags.plain) folder.add_whole(tag + ";");
  // h= breaks after a colon, so each header name stays whole.
  for (std::size_t i = 0; i < tags.header_names.size(); ++i) {
    std::string token = (i == 0 ? "h=" : "") + tags.header_names[i] + (i + 1 < tags.header_names.size() ? ":" : ";");
    if (i == 0) {
      folder.add_whole(token);
    } else if (folder.column() + token.size() > kMaxLine) {
      folder.new_line();
      folder.append(token);
    } else {
      folder.append(token);
    }
  }
  folder.add_breakable("bh=", tags.body_hash_b64 + ";", false);
  folder.add_breakable("b=", signature_b64, true);
  return std::move(folder.text());
}

std::string remove_b_tag_value(std::string_view raw) {
  const auto colon = raw.find(':');
  if (colon == std::string_view::npos) return std::string(raw);
  std::size_t pos = colon + 1;
  while (pos < raw.size()) {
    std::size_t semi = raw.find(';', pos);
    if (semi == std::string_view::npos) semi = raw.size();
    const std::string_view spec = raw.substr(pos, semi - pos);
    const auto eq = spec.find('=');
    if (eq != std::string_view::npos) {
      std::string_view name = spec.substr(0, eq);
      while (!name.empty() &&
             (name.front() == ' ' || name.front() == '\t' || name.front() == '\r' || name.front() == '\n'))
        name.remove_prefix(1);
      while (!name.empty() && (name.back() == ' ' || name.back() == '\t' || name.back() == '\r' || name.back() == '\n'))
        name.remove_suffix(1);
      if (name == "b") {
        std::string out(raw.substr(0, pos + eq + 1));
        out.append(raw.substr(semi));
        return out;
      }
    }
    pos = semi + 1;
  }
  return std::string(raw);
}

}  // namespace dkr::signer
