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

Result<bool> lifecycle_step(KeyAction action, KeyState state, std::string_view key) {
  const auto refused = [&](std::string_view why) {
    return make_error(ErrorCode::conflict, std::string(key) + " " + std::string(why));
  };
  switch (action) {
    case KeyAction::Activate:
      if (state == KeyState::Revoked) return refused("is revoked and cannot be activated again; stage a new key");
      return state != KeyState::Active;
    case KeyAction::Retire:
      if (state == KeyState::Staged) return refused("is staged and was never active; revoke or remove it instead");
      if (state == KeyState::Revoked) return refused("is already revoked");
      return state != KeyState::Retiring;
    case KeyAction::Revoke:
      if (state == KeyState::Active) {
        return refused("is active; retire it first, and revoke it once mail signed with it has been delivered");
      }
      return state != KeyState::Revoked;
    case KeyAction::Remove:
      if (state == KeyState::Active) return refused("is active; activate another key or retire it before removing it");
      return true;
  }
  return true;
}

Result<bool> KeyStore::step_if(std::string_view domain, std::string_view selector, KeyAction action, KeyState from) {
  auto info = this->domain(domain);
  if (!info) return info.error().code == ErrorCode::not_found ? Result<bool>(false) : Result<bool>(info.error());
  for (const auto& key : info->selectors) {
    if (key.selector != selector) continue;
    if (key.state != from) return false;
    Result<void> done;
    switch (action) {
      case KeyAction::Activate:
        done = activate(info->domain, selector);
        break;
      case KeyAction::Retire:
        done = retire(info->domain, selector);
        break;
      case KeyAction::Revoke:
        done = revoke(info->domain, selector);
        break;
      case KeyAction::Remove:
        done = remove_key(info->domain, selector);
        break;
    }
    if (!done) return done.error();
    return true;
  }
  return false;
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
