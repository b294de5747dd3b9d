#pragma once
// The names the HTTP API uses for algorithms and key states. Kept here rather than borrowed from
// signer/keystore so the wire contract (openapi.yaml) cannot change by accident.
#include <optional>
#include <string_view>

#include "keystore/key_store.hpp"
#include "signer/algorithm.hpp"

namespace dkr::admin {

std::string_view algorithm_name(signer::Algorithm algorithm);  // "rsa-sha256" / "ed25519-sha256"
std::optional<signer::Algorithm> parse_algorithm_name(std::string_view name);
std::string_view state_name(keystore::KeyState state);  // "staged" / "active" / "retiring" / "revoked"

}  // namespace dkr::admin
