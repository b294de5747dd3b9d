#include "signature_field.hpp"

#include <initializer_list>

#include "signer/canonicalization.hpp"

namespace dkr::signer {

namespace {
constexpr std::size_t kMaxLine = 78;
constexpr std::string_view kFold = "\r\n\t";

// Appends to a field's text, folding before a line would pass kMaxLine columns.
class FieldFolder {
 public:
  explicit FieldFolder(std::string& text) : text_(text) {
    const auto crlf = text_.rfind("\r\n");
    // A fold's tab counts as one column for the 78-column rule, as it is one character.
    column_ = crlf == std::string::npos ? text_.size() : text_.size() - (crlf + 2);
  }

  // A token (given in parts) that must not be split: on this line after a space, or on a new line.
  void add_whole(std::initializer_list<std::string_view> parts) {
    std::size_t size = 0;
    for (auto part : parts) size += part.size();
    if (column_ + 1 + size > kMaxLine) {
      new_line();
    } else {
      text_ += ' ';
      ++column_;
    }
    for (auto part : parts) append(part);
  }

  // A token that may be split anywhere (base64): starts after a space, continues over lines.
  void add_breakable(std::string_view prefix, bool own_line) {
    if (own_line || column_ + 1 + prefix.size() + 1 > kMaxLine) {
      new_line();
    } else {
      text_ += ' ';
      ++column_;
    }
    append(prefix);
  }
  void continue_breakable(std::string_view value) {
    while (!value.empty()) {
      if (column_ >= kMaxLine) new_line();
      const std::size_t take = std::min(value.size(), kMaxLine - column_);
      append(value.substr(0, take));
      value.remove_prefix(take);
    }
  }

  std::size_t column() const { return column_; }
  void new_line() {
    text_ += kFold;
    column_ = 1;
  }
  void append(std::string_view s) {
    text_ += s;
    column_ += s.size();
  }

 private:
  std::string& text_;
  std::size_t column_;
};
}  // namespace

void append_signed_headers(std::string& out, Canon canon, const std::vector<HeaderField>& headers,
                           const std::vector<std::string>& signed_names) {
  for (std::size_t i = 0; i < signed_names.size(); ++i) {
    const std::string& name = signed_names[i];
    // The n-th mention of a name in h= takes the n-th instance from the bottom. h= is short (tens
    // of names), so counting earlier mentions beats building a map.
    std::size_t skip = 0;
    for (std::size_t j = 0; j < i; ++j) skip += header_name_equals(signed_names[j], name) ? 1 : 0;
    for (auto it = headers.rbegin(); it != headers.rend(); ++it) {
      if (!header_name_equals(it->name, name)) continue;
      if (skip-- == 0) {
        append_canonical_header(out, canon, it->raw);
        break;
      }
    }
  }
}

void append_canonical_signature_field(std::string& out, Canon canon, std::string_view raw_field) {
  append_canonical_header(out, canon, raw_field);
  out.resize(out.size() - 2);  // §3.7: the signature field itself is hashed without its CRLF
}

std::string canonicalize_signature_field(Canon canon, std::string_view raw_field) {
  std::string out;
  append_canonical_signature_field(out, canon, raw_field);
  return out;
}

std::string fold_signature_field(const SignatureTags& tags) {
  std::string text = "DKIM-Signature:";
  text.reserve(512);  // the signed form; the signature's base64 is appended to it
  FieldFolder folder(text);
  for (const auto& tag : tags.plain) folder.add_whole({tag, ";"});
  // h= breaks after a colon, so each header name stays whole.
  for (std::size_t i = 0; i < tags.header_names.size(); ++i) {
    const std::string_view name = tags.header_names[i];
    const std::string_view separator = i + 1 < tags.header_names.size() ? ":" : ";";
    if (i == 0) {
      folder.add_whole({"h=", name, separator});
      continue;
    }
    if (folder.column() + name.size() + 1 > kMaxLine) folder.new_line();
    folder.append(name);
    folder.append(separator);
  }
  folder.add_breakable("bh=", false);
  folder.continue_breakable(tags.body_hash_b64);
  folder.continue_breakable(";");
  folder.add_breakable("b=", true);
  return text;
}

void append_signature_value(std::string& field, std::string_view signature_b64) {
  FieldFolder(field).continue_breakable(signature_b64);
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
