#include <algorithm>
#include <cstring>
#include <optional>

#include "signer/from_domain.hpp"
#include "common/ascii.hpp"

namespace dkr::signer {

namespace {

enum class TokenKind { Atom, Quoted, DomainLiteral, Special };

struct Token {
  TokenKind kind;
  std::string text;  // Special: the character
};

bool is_atext(unsigned char c) {
  if (c >= 0x80) return true;  // RFC 6532 UTF-8
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return c != 0 && std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr;
}

bool is_folding_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// RFC 5322 §3.2 lexical tokens; comments and whitespace are dropped here.
Result<std::vector<Token>> tokenize(std::string_view text) {
  std::vector<Token> tokens;
  std::size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (is_folding_space(c)) {
      ++i;
    } else if (c == '(') {
      int depth = 0;
      while (i < text.size()) {
        char d = text[i];
        if (d == '\\') {
          i += 2;
          continue;
        }
        if (d == '(') ++depth;
        if (d == ')' && --depth == 0) break;
        ++i;
      }
      if (i >= text.size()) return make_error("unterminated comment in From:");
      ++i;
    } else if (c == '"') {
      std::string value = "\"";
      ++i;
      bool closed = false;
      while (i < text.size()) {
        char d = text[i];
        if (d == '\\') {
          if (i + 1 >= text.size()) break;
          value += text.substr(i, 2);
          i += 2;
          continue;
        }
        if (d == '\r' || d == '\n') {  // folding inside a quoted string: unfold
          ++i;
          continue;
        }
        value += d;
        ++i;
        if (d == '"') {
          closed = true;
          break;
        }
      }
      if (!closed) return make_error("unterminated quoted string in From:");
      tokens.push_back({TokenKind::Quoted, std::move(value)});
    } else if (c == '[') {
      auto end = text.find(']', i);
      if (end == std::string_view::npos) return make_error("unterminated domain literal in From:");
      tokens.push_back({TokenKind::DomainLiteral, std::string(text.substr(i, end - i + 1))});
      i = end + 1;
    } else if (is_atext(static_cast<unsigned char>(c))) {
      std::size_t start = i;
      while (i < text.size() && is_atext(static_cast<unsigned char>(text[i]))) ++i;
      tokens.push_back({TokenKind::Atom, std::string(text.substr(start, i - start))});
    } else if (std::strchr("<>:;@,.\\]", c) != nullptr && c != 0) {
      tokens.push_back({TokenKind::Special, std::string(1, c)});
      ++i;
    } else {
      return make_error("invalid character in From:");
    }
  }
  return tokens;
}

bool is_special(const Token& t, char c) { return t.kind == TokenKind::Special && t.text[0] == c; }

// addr-spec = local-part "@" domain, with local-part a dot-atom or quoted string (obs-local-part:
// words joined by dots) and domain a dot-atom. Domain literals are refused: nothing to sign for.
Result<std::string> parse_addr_spec(const std::vector<Token>& tokens, std::size_t begin, std::size_t end) {
  auto at = std::find_if(tokens.begin() + static_cast<std::ptrdiff_t>(begin),
                         tokens.begin() + static_cast<std::ptrdiff_t>(end),
                         [](const Token& t) { return is_special(t, '@'); });
  auto at_index = static_cast<std::size_t>(at - tokens.begin());
  if (at_index >= end) return make_error("From: address without @");
  std::string local;
  bool expect_word = true;
  for (std::size_t i = begin; i < at_index; ++i) {
    const Token& t = tokens[i];
    if (expect_word && (t.kind == TokenKind::Atom || t.kind == TokenKind::Quoted)) {
      local += t.text;
    } else if (!expect_word && is_special(t, '.')) {
      local += '.';
    } else {
      return make_error("invalid local part in From:");
    }
    expect_word = !expect_word;
  }
  if (local.empty() || expect_word) return make_error("invalid local part in From:");
  std::string domain;
  expect_word = true;
  for (std::size_t i = at_index + 1; i < end; ++i) {
    const Token& t = tokens[i];
    if (t.kind == TokenKind::DomainLiteral) return make_error("From: domain is an address literal");
    if (expect_word && t.kind == TokenKind::Atom) {
      domain += t.text;
    } else if (!expect_word && is_special(t, '.')) {
      domain += '.';
    } else {
      return make_error("invalid domain in From:");
    }
    expect_word = !expect_word;
  }
  if (domain.empty() || expect_word) return make_error("invalid domain in From:");
  return local + "@" + domain;
}

// mailbox = name-addr / addr-spec; name-addr = [display-name] "<" addr-spec ">"
Result<std::string> parse_mailbox(const std::vector<Token>& tokens, std::size_t begin, std::size_t end) {
  auto open = std::find_if(tokens.begin() + static_cast<std::ptrdiff_t>(begin),
                           tokens.begin() + static_cast<std::ptrdiff_t>(end),
                           [](const Token& t) { return is_special(t, '<'); });
  auto open_index = static_cast<std::size_t>(open - tokens.begin());
  if (open_index >= end) return parse_addr_spec(tokens, begin, end);
  // display-name = phrase: words, plus "." from obs-phrase ("John Q. Public"). An unquoted "@" is
  // refused: "a@evil.example <b@good.example>" is read differently by different parsers.
  for (std::size_t i = begin; i < open_index; ++i) {
    const Token& t = tokens[i];
    if (t.kind != TokenKind::Atom && t.kind != TokenKind::Quoted && !is_special(t, '.')) {
      return make_error("invalid display name in From:");
    }
  }
  if (end - open_index < 2 || !is_special(tokens[end - 1], '>')) return make_error("invalid angle address in From:");
  for (std::size_t i = open_index + 1; i + 1 < end; ++i) {
    if (is_special(tokens[i], '<') || is_special(tokens[i], '>')) return make_error("invalid angle address in From:");
    if (is_special(tokens[i], ':')) return make_error("source route in From:");
  }
  return parse_addr_spec(tokens, open_index + 1, end - 1);
}

bool name_is_from(std::string_view name) {
  // obs-optional allows whitespace before the colon; "From :" is still a From: field to receivers.
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
  return iequals(name, "from");
}

}  // namespace

Result<std::vector<std::string>> parse_mailbox_list(std::string_view field_value) {
  auto tokens = tokenize(field_value);
  if (!tokens) return tokens.error();
  std::vector<std::string> addresses;
  std::size_t start = 0;
  bool in_angle = false;
  const auto& t = *tokens;
  for (std::size_t i = 0; i <= t.size(); ++i) {
    if (i < t.size()) {
      if (is_special(t[i], '<')) in_angle = true;
      if (is_special(t[i], '>')) in_angle = false;
      if ((is_special(t[i], ':') || is_special(t[i], ';')) && !in_angle) {
        return make_error("group syntax in From:");
      }
      if (!is_special(t[i], ',') || in_angle) continue;
    }
    if (i == start) return make_error("empty mailbox in From:");
    auto address = parse_mailbox(t, start, i);
    if (!address) return address.error();
    addresses.push_back(std::move(*address));
    start = i + 1;
  }
  return addresses;
}

Result<std::string> extract_from_domain(std::string_view header_section) {
  std::optional<std::string> from_value;
  int from_count = 0;
  // Walks fields: a field starts at a line not beginning with WSP and runs over continuation lines.
  std::size_t pos = 0;
  while (pos < header_section.size()) {
    auto line_end = header_section.find("\r\n", pos);
    if (line_end == pos) break;  // the empty line: end of the header section
    std::size_t field_end = line_end;
    while (field_end != std::string_view::npos && field_end + 2 < header_section.size() &&
           (header_section[field_end + 2] == ' ' || header_section[field_end + 2] == '\t')) {
      field_end = header_section.find("\r\n", field_end + 2);
    }
    auto field =
        header_section.substr(pos, field_end == std::string_view::npos ? std::string_view::npos : field_end - pos);
    auto colon = field.find(':');
    if (colon != std::string_view::npos && name_is_from(field.substr(0, colon))) {
      ++from_count;
      from_value = std::string(field.substr(colon + 1));
    }
    if (field_end == std::string_view::npos) break;
    pos = field_end + 2;
  }
  if (from_count == 0) return make_error("no From: field");
  if (from_count > 1) return make_error("more than one From: field");
  auto addresses = parse_mailbox_list(*from_value);
  if (!addresses) return addresses.error();
  if (addresses->size() != 1) return make_error("From: must hold exactly one address");
  const std::string& address = addresses->front();
  return lowercase(address.substr(address.rfind('@') + 1));
}

}  // namespace dkr::signer
