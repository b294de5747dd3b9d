#include "admin/bearer_auth.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

namespace dkr::admin {

TokenDigest token_digest(std::string_view token) {
  TokenDigest digest{};
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), digest.data());
  return digest;
}

bool tokens_equal(std::string_view a, std::string_view b) {
  const TokenDigest da = token_digest(a);
  const TokenDigest db = token_digest(b);
  return CRYPTO_memcmp(da.data(), db.data(), da.size()) == 0;
}

std::string token_id(std::string_view token) {
  static constexpr char kHex[] = "0123456789abcdef";
  const TokenDigest digest = token_digest(token);
  std::string id;
  for (int i = 0; i < 4; ++i) {
    id += kHex[digest[i] >> 4];
    id += kHex[digest[i] & 0xf];
  }
  return id;
}

std::optional<std::string_view> bearer_credentials(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer";
  while (!authorization.empty() && (authorization.front() == ' ' || authorization.front() == '\t')) {
    authorization.remove_prefix(1);
  }
  if (authorization.size() <= kScheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    char c = authorization[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kScheme[i]) return std::nullopt;
  }
  std::string_view rest = authorization.substr(kScheme.size());
  if (rest.front() != ' ' && rest.front() != '\t') return std::nullopt;
  while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
  while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t')) rest.remove_suffix(1);
  if (rest.empty()) return std::nullopt;
  return rest;
}

BearerAuth::BearerAuth(std::string_view token) : digest_(token_digest(token)), token_id_(admin::token_id(token)) {}

bool BearerAuth::accepts(std::string_view authorization) const {
  const auto credentials = bearer_credentials(authorization);
  // Hash something even when the header is unusable so a missing token costs the same time.
  const TokenDigest presented = token_digest(credentials.value_or(std::string_view{}));
  const bool equal = CRYPTO_memcmp(presented.data(), digest_.data(), digest_.size()) == 0;
  return credentials.has_value() && equal;
}

}  // namespace dkr::admin
