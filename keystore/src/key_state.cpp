#include "keystore/key_store.hpp"

namespace dkr::keystore {

std::string_view to_string(KeyState state) {
  switch (state) {
    case KeyState::Staged:
      return "staged";
    case KeyState::Active:
      return "active";
    case KeyState::Retiring:
      return "retiring";
    case KeyState::Revoked:
      return "revoked";
  }
  return "unknown";
}

std::optional<KeyState> parse_key_state(std::string_view text) {
  if (text == "staged") return KeyState::Staged;
  if (text == "active") return KeyState::Active;
  if (text == "retiring") return KeyState::Retiring;
  if (text == "revoked") return KeyState::Revoked;
  return std::nullopt;
}

Result<void> KeyStore::set_rotation_override(std::string_view domain, const RotationOverride&) {
  return make_error(ErrorCode::internal, "this key store keeps no rotation policy for " + std::string(domain));
}

Result<bool> KeyStore::record_dns_check(std::string_view domain, std::string_view, const DnsCheck&) {
  return make_error(ErrorCode::internal, "this key store keeps no DNS checks for " + std::string(domain));
}

Result<bool> KeyStore::record_publish_error(std::string_view domain, const PublishError&) {
  return make_error(ErrorCode::internal, "this key store keeps no publishing errors for " + std::string(domain));
}

}  // namespace dkr::keystore
