#pragma once
// What each source of mail may sign, as relay/signing_authorization.cpp decides it, for the operator:
// `--check-config` prints it, and `serve` warns at start when users or clients are scoped to
// domains while a client in relay.allowed_networks that skips AUTH and matches no [[relay.clients]]
// rule may still sign any domain (issue 24 item 3).
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace dkr::app {

// One line per source: "[[auth.users]] app (after AUTH): example.com, *.example.com".
std::vector<std::string> signing_scope_lines(const config::Config& config);

// The warning naming the keys to set, or nothing when no unscoped path remains beside scoped ones.
std::optional<std::string> unscoped_signing_warning(const config::Config& config);

}  // namespace dkr::app
