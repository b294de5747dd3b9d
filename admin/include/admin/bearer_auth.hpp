#pragma once
// Bearer-token check of the admin API. Only SHA-256 digests are kept and compared, in constant
// time, so neither the token's content nor its length leaks through timing.
#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace dkr::admin {

using TokenDigest = std::array<unsigned char, 32>;

TokenDigest token_digest(std::string_view token);
// Constant-time comparison of SHA-256(a) and SHA-256(b).
bool tokens_equal(std::string_view a, std::string_view b);
// First 8 hex characters of SHA-256(token): names a token in audit logs without revealing it.
std::string token_id(std::string_view token);
// The credentials of an "Authorization: Bearer <token>" value (scheme case-insensitive).
std::optional<std::string_view> bearer_credentials(std::string_view authorization);

class BearerAuth {
 public:
  explicit BearerAuth(std::string_view token);
  // True when the Authorization header value carries the configured token.
  bool accepts(std::string_view authorization) const;
  const std::string& token_id() const { return token_id_; }

 private:
  TokenDigest digest_;
  std::string token_id_;
};

}  // namespace dkr::admin
