#include "relay/signing_authorization.hpp"

#include <algorithm>

#include "keystore/domain_name.hpp"

namespace dkr::relay {

namespace {

using keystore::comparable_domain;
using keystore::is_strict_subdomain;

SigningScope scope_of(std::string rule, const DomainPatterns& patterns) {
  SigningScope scope{std::move(rule), DomainPatterns{}};
  for (const auto& pattern : patterns) scope.domains->push_back(normalize_domain_pattern(pattern));
  return scope;
}

}  // namespace

std::string normalize_domain_pattern(std::string_view pattern) {
  if (pattern == "*") return "*";
  if (pattern.starts_with("*.")) return "*." + comparable_domain(pattern.substr(2));
  return comparable_domain(pattern);
}

SigningScope signing_scope(const RelaySettings& settings, const std::optional<std::string>& user,
                           const boost::asio::ip::address& remote) {
  if (user) {
    for (const auto& candidate : settings.auth_users) {
      if (candidate.name == *user) return scope_of("user:" + *user, candidate.domains);
    }
    return {"user:" + *user, DomainPatterns{}};  // not configured (any more): nothing
  }
  for (std::size_t i = 0; i < settings.clients.size(); ++i) {
    const auto& client = settings.clients[i];
    const bool matches = std::any_of(client.networks.begin(), client.networks.end(),
                                     [&](const Cidr& range) { return in_range(range, remote); });
    if (matches) return scope_of("relay.clients[" + std::to_string(i) + "]", client.domains);
  }
  return {"allowed_networks", std::nullopt};
}

bool pattern_matches(std::string_view pattern, std::string_view domain) {
  if (pattern == "*") return true;
  if (pattern.starts_with("*.")) return is_strict_subdomain(domain, pattern.substr(2));
  return pattern == domain;
}

bool may_sign(const SigningScope& scope, std::string_view from_domain, std::string_view signing_domain) {
  if (!scope.domains) return true;
  const std::string from = comparable_domain(from_domain);
  const std::string signing = signing_domain.empty() ? from : comparable_domain(signing_domain);
  const auto& patterns = *scope.domains;
  if (signing == from) {
    return std::any_of(patterns.begin(), patterns.end(), [&](const auto& p) { return pattern_matches(p, from); });
  }
  // Fallback: the key is the parent's, so the scope must cover the parent's subdomains.
  return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) {
    if (p == "*") return true;
    if (!p.starts_with("*.")) return false;
    const std::string_view base = std::string_view(p).substr(2);
    return (signing == base || is_strict_subdomain(signing, base)) && is_strict_subdomain(from, signing);
  });
}

}  // namespace dkr::relay
