#include "admin/token_scope.hpp"

#include <algorithm>

#include <openssl/crypto.h>

#include "keystore/domain_name.hpp"

namespace dkr::admin {

namespace {

bool pattern_matches(std::string_view pattern, std::string_view domain) {
  if (pattern == "*") return true;
  if (!pattern.starts_with("*.")) return pattern == domain;
  return keystore::is_strict_subdomain(domain, keystore::comparable_domain(pattern.substr(2)));
}

ApiResponse hidden(const Route& route) {
  // The same answer as for a domain that does not exist (AdminApi's domain_not_found).
  return error_response(404, "unknown domain '" + route.domain + "'");
}

ApiResponse forbidden(const TokenScope& scope, std::string_view what) {
  return error_response(
      403, "token '" + scope.name + "' (role " + std::string(to_string(scope.role)) + ") may not " + std::string(what));
}

int role_rank(TokenRole role) { return static_cast<int>(role) + 1; }
int access_rank(Access access) { return static_cast<int>(access); }  // Public 0, Metrics 1, ...

}  // namespace

std::string_view to_string(TokenRole role) {
  switch (role) {
    case TokenRole::Metrics:
      return "metrics";
    case TokenRole::Read:
      return "read";
    case TokenRole::Rotate:
      return "rotate";
    case TokenRole::Admin:
      return "admin";
  }
  return "read";
}

bool TokenScope::covers(std::string_view domain) const {
  const std::string wanted = keystore::comparable_domain(domain);
  return std::any_of(domains.begin(), domains.end(), [&](const std::string& p) {
    return pattern_matches(p, wanted) || (!p.starts_with("*") && keystore::comparable_domain(p) == wanted);
  });
}

bool TokenScope::unscoped() const { return std::find(domains.begin(), domains.end(), "*") != domains.end(); }

std::optional<ApiResponse> TokenScope::refusal(const Route& route) const {
  const EndpointSpec& spec = endpoint_spec(route.endpoint);
  // A domain outside the scope is hidden before the role is looked at: a 403 would confirm it exists.
  if (spec.scope == DomainScope::PathDomain && !covers(route.domain)) return hidden(route);
  if (spec.access != Access::Public && role_rank(role) < access_rank(spec.access)) {
    return forbidden(*this, spec.forbidden);
  }
  if (spec.scope == DomainScope::Unscoped && !unscoped()) {
    return error_response(403, "token '" + name + "' is scoped to domains and may not " + std::string(spec.forbidden) +
                                   ": fleet-wide answers need a token for \"*\"");
  }
  return std::nullopt;
}

TokenTable::TokenTable(const std::vector<ScopedToken>& tokens) {
  for (const auto& token : tokens) entries_.push_back({token_digest(token.token), token.scope});
}

const TokenScope* TokenTable::find(std::string_view authorization) const {
  const auto credentials = bearer_credentials(authorization);
  if (!credentials) return nullptr;
  const TokenDigest offered = token_digest(*credentials);
  const TokenScope* found = nullptr;
  for (const auto& entry : entries_) {
    if (CRYPTO_memcmp(offered.data(), entry.digest.data(), offered.size()) == 0) found = &entry.scope;
  }
  return found;
}

}  // namespace dkr::admin
