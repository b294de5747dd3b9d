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

}  // namespace dkr::keystore
