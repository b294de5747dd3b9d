#pragma once
// The keys of the tables that limit who may do what per domain: `domains` of [[auth.users]],
// [[relay.clients]] and [[admin.tokens]]. Each assign_* reports its own errors.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schema.hpp"

namespace dkr::config::detail {

// "example.com", "*.example.com" or "*"; what is wrong otherwise.
std::optional<std::string> domain_pattern_problem(std::string_view pattern);
// A non-empty list of domain patterns, stored lowercase.
void assign_domain_patterns(DomainPatterns& out, const ValueSource& value, const Origin& origin,
                            const Diagnostics& diagnostics);

inline const std::vector<std::string> kRelayClientKeys{"networks", "domains"};
inline const std::vector<std::string> kAdminTokenKeys{"name", "token_file", "domains", "role"};

// False for an unknown key (the caller reports it with a suggestion).
bool assign_relay_client_key(RelayClient& client, std::string_view key, const ValueSource& value, const Origin& origin,
                             const Diagnostics& diagnostics);
bool assign_admin_token_key(AdminTokenConfig& token, std::string_view key, const ValueSource& value,
                            const Origin& origin, const Diagnostics& diagnostics);

}  // namespace dkr::config::detail
