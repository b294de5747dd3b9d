#include "admin/api_names.hpp"

namespace dkr::admin {

std::string_view algorithm_name(signer::Algorithm algorithm) {
  switch (algorithm) {
    case signer::Algorithm::RsaSha256:
      return "rsa-sha256";
    case signer::Algorithm::Ed25519Sha256:
      return "ed25519-sha256";
  }
  return "unknown";
}

std::optional<signer::Algorithm> parse_algorithm_name(std::string_view name) {
  if (name == "rsa-sha256") return signer::Algorithm::RsaSha256;
  if (name == "ed25519-sha256") return signer::Algorithm::Ed25519Sha256;
  return std::nullopt;
}

std::string_view state_name(keystore::KeyState state) {
  switch (state) {
    case keystore::KeyState::Staged:
      return "staged";
    case keystore::KeyState::Active:
      return "active";
    case keystore::KeyState::Retiring:
      return "retiring";
    case keystore::KeyState::Revoked:
      return "revoked";
  }
  return "unknown";
}

}  // namespace dkr::admin
