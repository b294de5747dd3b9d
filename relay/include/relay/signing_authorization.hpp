#pragma once
// Which From domains a client may have signed. Several applications or customers can share one
// relay: each gets mail signed only for its own domains, never for another tenant's.
//
// The client is an [[auth.users]] login (its `domains`), or else a network client: the first
// [[relay.clients]] entry whose networks contain its address, or, matching none, anything (the
// single-application sidecar, as before tenants existed).
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/ip/address.hpp>

#include "relay/relay_settings.hpp"

namespace dkr::relay {

struct SigningScope {
  std::string rule;                       // for the log: "user:alice", "relay.clients[0]", "allowed_networks"
  std::optional<DomainPatterns> domains;  // normalized patterns; nullopt: any domain
};

SigningScope signing_scope(const RelaySettings& settings, const std::optional<std::string>& user,
                           const boost::asio::ip::address& remote);

// "example.com" is that domain, "*.example.com" its subdomains (not itself), "*" any domain.
// Both sides lowercase A-labels.
bool pattern_matches(std::string_view pattern, std::string_view domain);

// May the scope have mail From: `from_domain` signed with the key of `signing_domain`? That is
// the From domain itself, or a parent reached by fallback, which needs a wildcard covering the
// parent ("*.example.com" for d=example.com): owning "mail.example.com" is not owning example.com.
bool may_sign(const SigningScope& scope, std::string_view from_domain, std::string_view signing_domain);

// A pattern as the matcher expects it: lowercase, U-labels as A-labels ("*.bücher.example" ->
// "*.xn--bcher-kva.example"); unchanged apart from case when it is not a valid domain.
std::string normalize_domain_pattern(std::string_view pattern);

}  // namespace dkr::relay
