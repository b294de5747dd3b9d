#include <openssl/crypto.h>

#include "keystore/private_key_vault.hpp"

namespace dkr::keystore {

namespace {

class StoreVault final : public PrivateKeyVault {
 public:
  Result<VaultKey> generate(signer::Algorithm algorithm, int bits, std::string_view) override {
    auto key = signer::SigningKey::generate(algorithm, bits);
    if (!key) return key.error();
    std::string pem = key->private_pem();
    return VaultKey{std::move(*key), std::move(pem)};
  }

  Result<VaultKey> import(const signer::SigningKey& key, std::string_view) override {
    std::string pem = key.private_pem();
    if (pem.empty()) return make_error(ErrorCode::invalid, "the key has no private part to store");
    return VaultKey{key, std::move(pem)};
  }

  Result<signer::SigningKey> open(std::string_view stored, signer::KeyPolicy policy) const override {
    if (is_token_reference(stored)) {
      return make_error(
          ErrorCode::invalid,
          "the private key lives in a PKCS#11 token (" + first_line(stored) +
              ") but keystore.private_keys is \"store\"; set it to \"pkcs11\" with that token's [pkcs11]");
    }
    return signer::SigningKey::from_pem(stored, policy);
  }

  Result<void> destroy(std::string_view) override { return {}; }
  std::string_view name() const override { return "store"; }

 private:
  static std::string first_line(std::string_view text) { return std::string(text.substr(0, text.find('\n'))); }
};

}  // namespace

std::shared_ptr<PrivateKeyVault> store_vault() {
  static const auto vault = std::make_shared<StoreVault>();
  return vault;
}

bool is_token_reference(std::string_view stored) { return stored.starts_with(kTokenReferencePrefix); }

std::string unexportable_message(std::string_view domain, std::string_view selector) {
  return "selector '" + std::string(selector) + "' of " + std::string(domain) +
         ": its private key was made inside the PKCS#11 token and cannot be exported (CKA_EXTRACTABLE is false); "
         "move the token's keys with the HSM's own backup or replication, or stage a new key where it is needed";
}

}  // namespace dkr::keystore
