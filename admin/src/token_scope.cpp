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

}  // namespace

std::string_view to_string(TokenRole role) {
  switch (role) {
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

std::optional<ApiResponse> TokenScope::refusal(const Route& route) const {
  switch (route.endpoint) {
    case Endpoint::Healthz:
    case Endpoint::Readyz:
    case Endpoint::Metrics:
    case Endpoint::ListDomains:
    case Endpoint::Token:
      return std::nullopt;  // answered within the scope
    case Endpoint::AddDomain:
      if (role != TokenRole::Admin) return forbidden(*this, "add domains");
      return std::nullopt;
    case Endpoint::GetDomain:
    case Endpoint::DomainDns:
    case Endpoint::DomainReadiness:
      if (!covers(route.domain)) return hidden(route);
      return std::nullopt;
    case Endpoint::RemoveDomain:
      if (!covers(route.domain)) return hidden(route);
      if (role != TokenRole::Admin) return forbidden(*this, "remove domains");
      return std::nullopt;
    case Endpoint::Rotate:
    case Endpoint::ActivateKey:
    case Endpoint::RetireKey:
    case Endpoint::RevokeKey:
    case Endpoint::RemoveKey:
      if (!covers(route.domain)) return hidden(route);
      if (role == TokenRole::Read) return forbidden(*this, "change keys");
      return std::nullopt;
  }
  return hidden(route);
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
