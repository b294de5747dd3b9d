#pragma once
// Scoped admin tokens: each bearer token has a name, a role and the domains it may see. A domain
// outside the scope answers 404, exactly as if it did not exist, so that one tenant's token does
// not even learn which other domains the relay signs for.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "admin/api_response.hpp"
#include "admin/bearer_auth.hpp"
#include "admin/router.hpp"

namespace dkr::admin {

// metrics: only /metrics and /readyz (a scraper's token); read: also look at domains and keys;
// rotate: also stage, activate, retire, revoke and delete keys; admin: also add and remove domains.
// What each endpoint needs is in admin/endpoint_table.hpp.
enum class TokenRole { Metrics, Read, Rotate, Admin };
std::string_view to_string(TokenRole role);

struct TokenScope {
  std::string name;                  // for the audit log and GET /v1/token
  TokenRole role = TokenRole::Read;  // what it may do
  std::vector<std::string> domains;  // "example.com", "*.example.com" (subdomains) or "*"

  // `domain` as a client sent it (U-label or A-label, any case).
  bool covers(std::string_view domain) const;
  // Whether the token sees the whole fleet (its domains include "*"): fleet-wide counters are for it only.
  bool unscoped() const;
  // The 403/404 that refuses `route` before it runs, or nullopt. An AddDomain body's domain is
  // checked by the endpoint itself.
  std::optional<ApiResponse> refusal(const Route& route) const;

  static TokenScope full_admin(std::string name = "admin") { return {std::move(name), TokenRole::Admin, {"*"}}; }
};

struct ScopedToken {
  std::string token;  // secret: never log it
  TokenScope scope;
};

// All tokens of the admin API. Only SHA-256 digests are kept; every token is compared, in constant
// time, so that which token matched does not leak through timing either.
class TokenTable {
 public:
  explicit TokenTable(const std::vector<ScopedToken>& tokens);
  // The scope of the token in an "Authorization: Bearer ..." value, or nullptr.
  const TokenScope* find(std::string_view authorization) const;

 private:
  struct Entry {
    TokenDigest digest;
    TokenScope scope;
  };
  std::vector<Entry> entries_;
};

}  // namespace dkr::admin
