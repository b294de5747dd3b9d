#include <algorithm>
#include <optional>

#include "keystore/domain_name.hpp"
#include "common/ascii.hpp"

namespace dkr::keystore {
namespace {

// Strict UTF-8 decoding: rejects overlong forms, surrogates and code points above U+10FFFF.
std::optional<std::u32string> decode_utf8(std::string_view text) {
  std::u32string out;
  for (std::size_t i = 0; i < text.size();) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    int extra = 0;
    char32_t cp = 0;
    char32_t min = 0;
    if (b0 < 0x80) {
      cp = b0;
    } else if ((b0 & 0xE0) == 0xC0) {
      extra = 1;
      cp = b0 & 0x1F;
      min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      extra = 2;
      cp = b0 & 0x0F;
      min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
      extra = 3;
      cp = b0 & 0x07;
      min = 0x10000;
    } else
      return std::nullopt;
    if (i + static_cast<std::size_t>(extra) >= text.size() && extra > 0) return std::nullopt;
    for (int k = 1; k <= extra; ++k) {
      const auto b = static_cast<unsigned char>(text[i + static_cast<std::size_t>(k)]);
      if ((b & 0xC0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (b & 0x3F);
    }
    if (extra > 0 && cp < min) return std::nullopt;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
    out.push_back(cp);
    i += 1 + static_cast<std::size_t>(extra);
  }
  return out;
}

// Simple lowercase mapping for the scripts most domain names use; see the header.
char32_t unicode_lower(char32_t c) {
  if (c < 0x80) return static_cast<char32_t>(ascii_lower(static_cast<char>(c)));
  if ((c >= 0xC0 && c <= 0xDE && c != 0xD7)) return c + 0x20;
  if (c >= 0x100 && c <= 0x137 && c % 2 == 0) return c + 1;
  if (c >= 0x139 && c <= 0x148 && c % 2 == 1) return c + 1;
  if (c >= 0x14A && c <= 0x177 && c % 2 == 0) return c + 1;
  if (c == 0x178) return 0xFF;
  if ((c == 0x179 || c == 0x17B || c == 0x17D)) return c + 1;
  if (c >= 0x391 && c <= 0x3AB && c != 0x3A2) return c + 0x20;
  if (c >= 0x410 && c <= 0x42F) return c + 0x20;
  if (c >= 0x400 && c <= 0x40F) return c + 0x50;
  return c;
}

// Built by appending: "'" + std::string(...) trips GCC 12's -Wrestrict false positive at -O3.
std::string quoted(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('\'');
  out.append(text);
  out.push_back('\'');
  return out;
}

bool is_ldh(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; }

}  // namespace

Result<void> validate_domain(std::string_view name) {
  if (name.empty()) return make_error(ErrorCode::invalid, "domain name is empty");
  if (name.size() > kMaxDomainLength) {
    return make_error(ErrorCode::invalid, "domain name " + quoted(name) + " is longer than 253 bytes");
  }
  std::size_t labels = 0;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = name.find('.', start);
    const std::string_view label =
        name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty()) return make_error(ErrorCode::invalid, "domain name " + quoted(name) + " has an empty label");
    if (label.size() > kMaxLabelLength) {
      return make_error(ErrorCode::invalid, "domain name " + quoted(name) + " has a label longer than 63 bytes");
    }
    for (char c : label) {
      if (!is_ldh(c)) {
        return make_error(ErrorCode::invalid,
                          "domain name " + quoted(name) + " may only contain lowercase letters, digits, '-' and '.'");
      }
    }
    if (label.front() == '-' || label.back() == '-') {
      return make_error(ErrorCode::invalid, "domain name " + quoted(name) + " has a label starting or ending with '-'");
    }
    if (label.starts_with("xn--")) {
      // An A-label must be the Punycode of a U-label (RFC 5890 §2.3.2.1): it decodes, holds a
      // non-ASCII character and encodes back to itself. Anything else is not a name resolvers
      // and mail clients agree on.
      auto decoded = punycode_decode(label.substr(4));
      bool ok = decoded && std::any_of(decoded->begin(), decoded->end(), [](char32_t c) { return c >= 0x80; });
      if (ok) {
        const auto again = punycode_encode(*decoded);
        ok = again && *again == label.substr(4);
      }
      if (!ok) {
        return make_error(ErrorCode::invalid,
                          "domain name " + quoted(name) + " has an xn-- label that is not valid Punycode");
      }
    }
    ++labels;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (labels < 2) {
    return make_error(ErrorCode::invalid, "domain name " + quoted(name) + " needs at least two labels");
  }
  return {};
}

Result<std::string> normalize_domain(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::string out;
  out.reserve(name.size());
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    const std::string_view label = name.substr(start, dot - start);
    bool ascii = true;
    for (char c : label) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
    if (!out.empty() || start > 0) out.push_back('.');
    if (ascii) {
      for (char c : label) out.push_back(ascii_lower(c));
    } else {
      auto code_points = decode_utf8(label);
      if (!code_points) {
        return make_error(ErrorCode::invalid, "domain name " + quoted(name) + " is not valid UTF-8");
      }
      for (char32_t& c : *code_points) c = unicode_lower(c);
      auto encoded = punycode_encode(*code_points);
      if (!encoded) return encoded.error();
      out += "xn--";
      out += *encoded;
    }
    start = dot + 1;
  }
  if (auto valid = validate_domain(out); !valid) return valid.error();
  return out;
}

Result<std::string> normalize_selector(std::string_view selector) {
  std::string out;
  out.reserve(selector.size());
  for (char c : selector) out.push_back(ascii_lower(c));
  if (out.empty()) return make_error(ErrorCode::invalid, "selector is empty");
  if (out.size() > kMaxDomainLength)
    return make_error(ErrorCode::invalid, "selector " + quoted(selector) + " is too long");
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = out.find('.', start);
    const std::string_view label =
        std::string_view(out).substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (label.empty()) return make_error(ErrorCode::invalid, "selector " + quoted(selector) + " has an empty label");
    if (label.size() > kMaxLabelLength) {
      return make_error(ErrorCode::invalid, "selector " + quoted(selector) + " has a label longer than 63 bytes");
    }
    if (label.front() == '-' || label.front() == '_') {
      return make_error(ErrorCode::invalid,
                        "selector " + quoted(selector) + " must start each label with a letter or digit");
    }
    for (char c : label) {
      if (!is_ldh(c) && c != '_') {
        return make_error(ErrorCode::invalid,
                          "selector " + quoted(selector) + " may only contain letters, digits, '-', '_' and '.'");
      }
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return out;
}

std::string comparable_domain(std::string_view name) {
  if (auto a_label = normalize_domain(name)) return *a_label;
  std::string lower(name);
  for (char& c : lower) c = ascii_lower(c);
  return lower;
}

bool is_strict_subdomain(std::string_view domain, std::string_view parent) {
  return domain.size() > parent.size() + 1 && domain.ends_with(parent) &&
         domain[domain.size() - parent.size() - 1] == '.';
}

}  // namespace dkr::keystore
