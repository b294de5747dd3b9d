#include "token_reference.hpp"

#include <cctype>

#include "keystore/private_key_vault.hpp"

namespace dkr::pkcs11 {

namespace {

// RFC 7512 §2.3: pk11-pchar is unreserved characters and a few more; everything else %XX.
std::string percent_encode(std::string_view text, bool all) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : text) {
    if (!all && (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    auto digit = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    const int high = digit(text[i + 1]);
    const int low = digit(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

}  // namespace

std::string reference_uri(const TokenReference& reference) {
  return std::string(keystore::kTokenReferencePrefix) + "token=" + percent_encode(reference.token, false) +
         ";id=" + percent_encode(reference.id, true) + ";object=" + percent_encode(reference.label, false) +
         ";type=private";
}

std::string format_reference(const TokenReference& reference) {
  return reference_uri(reference) + "\n" + reference.public_pem;
}

std::optional<TokenReference> parse_reference(std::string_view stored) {
  if (!stored.starts_with(keystore::kTokenReferencePrefix)) return std::nullopt;
  const std::size_t end = stored.find('\n');
  if (end == std::string_view::npos) return std::nullopt;
  std::string_view attributes =
      stored.substr(keystore::kTokenReferencePrefix.size(), end - keystore::kTokenReferencePrefix.size());
  TokenReference reference;
  while (!attributes.empty()) {
    const std::size_t semicolon = attributes.find(';');
    std::string_view attribute = attributes.substr(0, semicolon);
    attributes = semicolon == std::string_view::npos ? std::string_view() : attributes.substr(semicolon + 1);
    const std::size_t equals = attribute.find('=');
    if (equals == std::string_view::npos) return std::nullopt;
    auto value = percent_decode(attribute.substr(equals + 1));
    if (!value) return std::nullopt;
    const std::string_view name = attribute.substr(0, equals);
    if (name == "token")
      reference.token = std::move(*value);
    else if (name == "id")
      reference.id = std::move(*value);
    else if (name == "object")
      reference.label = std::move(*value);
  }
  if (reference.id.empty() || reference.token.empty()) return std::nullopt;
  reference.public_pem = std::string(stored.substr(end + 1));
  return reference;
}

}  // namespace dkr::pkcs11
