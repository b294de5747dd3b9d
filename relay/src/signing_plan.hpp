#pragma once
// What to do with a message once its header section is known: refuse it, sign it (with which keys)
// or forward it unsigned. Pure apart from the key store lookup.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keystore/key_store.hpp"
#include "relay/relay_settings.hpp"
#include "relay/signing_authorization.hpp"
#include "relay/upstream_vocabulary.hpp"
#include "signer/message_signer.hpp"

namespace dkr::relay {

struct SigningPlan {
  std::optional<SmtpReply> refusal;  // the final reply to DATA when the message is not forwarded
  std::string refusal_reason;        // for the log
  std::string from_domain;
  std::vector<signer::SignRequest> requests;  // empty and no refusal: forward unsigned (policy pass)
  bool no_key = false;                        // no active key for the From domain (or its parents)
  bool unauthorized = false;                  // the client may not sign for the From domain
};

// `scope`: what the client may sign. A From domain outside it is refused whether or not a key
// exists, so that another tenant's domain is neither signed nor passed on unsigned.
SigningPlan plan_signing(std::string_view header_section, const keystore::KeyStore& keys, const RelaySettings& settings,
                         const SigningScope& scope);

}  // namespace dkr::relay
