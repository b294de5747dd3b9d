#pragma once
// A private key object in a token, signing through C_Sign on the calling thread's session. Every
// signature is verified against the public key the store recorded before it is returned, so a
// wrong or replaced object (or a faulty module) can never put a bad signature on a message.
#include <openssl/evp.h>

#include <memory>
#include <mutex>
#include <string>

#include "signer/signing_key.hpp"
#include "token.hpp"

namespace dkr::pkcs11 {

class TokenKey final : public signer::ExternalPrivateKey {
 public:
  // `public_key`: the public half as recorded in the store (shared with the SigningKey).
  TokenKey(std::shared_ptr<Token> token, std::string id, std::string uri, std::shared_ptr<EVP_PKEY> public_key,
           signer::Algorithm algorithm, int bits);

  Result<std::string> sign(signer::Algorithm algorithm, std::string_view data) const override;
  std::string describe() const override { return uri_; }

 private:
  // The object's handle in connection `use.generation`, found by CKA_ID (exactly one private key).
  CK_RV resolve(const SessionUse& use, CK_OBJECT_HANDLE& handle) const;
  bool verify(std::string_view data, std::string_view signature) const;

  std::shared_ptr<Token> token_;
  std::string id_;
  std::string uri_;
  std::shared_ptr<EVP_PKEY> public_key_;
  signer::Algorithm algorithm_;
  std::size_t signature_size_;

  mutable std::mutex handle_mutex_;
  mutable std::uint64_t handle_generation_ = 0;  // 0: not found yet
  mutable CK_OBJECT_HANDLE handle_ = CK_INVALID_HANDLE;
};

// The handles of the objects (private and public) with CKA_ID `id`, `klass` = -1 for any class.
CK_RV find_objects(const SessionUse& use, std::string_view id, long klass, std::vector<CK_OBJECT_HANDLE>& found);

}  // namespace dkr::pkcs11
