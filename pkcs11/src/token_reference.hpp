#pragma once
// What a key store keeps for a token key: an RFC 7512 PKCS#11 URI naming the token and the
// object's CKA_ID (and its label, for people), then the public key's PEM:
//   pkcs11:token=dkim;id=%9c%01...;object=example.com;type=private
//   -----BEGIN PUBLIC KEY-----
//   ...
#include <optional>
#include <string>
#include <string_view>

namespace dkr::pkcs11 {

struct TokenReference {
  std::string token;  // token label
  std::string id;     // CKA_ID, raw bytes
  std::string label;  // CKA_LABEL
  std::string public_pem;
};

std::string format_reference(const TokenReference& reference);
std::optional<TokenReference> parse_reference(std::string_view stored);
// The URI line alone, for messages.
std::string reference_uri(const TokenReference& reference);

}  // namespace dkr::pkcs11
