#pragma once
// Private keys inside a PKCS#11 token (SoftHSM2, an HSM, a cloud KMS, or any of them exported by
// `p11-kit server` and reached through p11-kit-client.so): generated there (CKA_SENSITIVE, not
// CKA_EXTRACTABLE) or imported with C_CreateObject, and used only through C_Sign. The key stores
// keep a reference (RFC 7512 URI with the object's CKA_ID) and the public key.
#include <memory>
#include <string>

#include "common/result.hpp"
#include "keystore/private_key_vault.hpp"

namespace dkr::pkcs11 {

// How RSA signatures are asked for. RsaPkcsDigestInfo hashes here and sends the 51-byte DigestInfo
// (CKM_RSA_PKCS); Sha256RsaPkcs sends the header data for the token to hash (CKM_SHA256_RSA_PKCS).
enum class RsaMechanism { RsaPkcsDigestInfo, Sha256RsaPkcs };

struct TokenSettings {
  std::string module;       // path of the PKCS#11 module (dlopen)
  std::string token_label;  // CKA_LABEL of the token (CK_TOKEN_INFO.label)
  std::string pin;          // user PIN; secret
  RsaMechanism rsa_mechanism = RsaMechanism::RsaPkcsDigestInfo;
  // Watches the token: a lost token (module error, p11-kit server gone) is noticed and reconnected
  // in the background at this interval, so signing comes back by itself.
  int health_interval_ms = 500;
};

// What made open() fail, so that the caller can name the config key.
enum class OpenFailure { Module, Token, Pin, Other };

class Pkcs11Vault : public keystore::PrivateKeyVault {
 public:
  // Loads the module, finds the token, logs in (named connect: open() is the vault's, for keys). Errors name what
  // failed (module, token, PIN) so the caller can name the config key: ErrorCode::not_found for a missing module or
  // token, ErrorCode::invalid for a refused PIN.
  static Result<std::shared_ptr<Pkcs11Vault>> connect(const TokenSettings& settings, OpenFailure* failure = nullptr);

  // False while the token cannot be reached (signing then fails with ErrorCode::unavailable).
  virtual bool available() const = 0;
  // Whether the token offers CKM_EC_EDWARDS_KEY_PAIR_GEN and CKM_EDDSA.
  virtual bool supports_ed25519() const = 0;
  // The module's error behind available() == false; empty when available.
  virtual std::string last_problem() const = 0;
};

}  // namespace dkr::pkcs11
