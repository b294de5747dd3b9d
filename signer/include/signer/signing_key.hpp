#pragma once
// Private keys that sign DKIM signatures (RSA >= 2048 by default, Ed25519).
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "signer/algorithm.hpp"
#include "common/result.hpp"

typedef struct evp_pkey_st EVP_PKEY;
typedef struct evp_md_ctx_st EVP_MD_CTX;

namespace dkr::signer {

class SigningKeyFactory;

// The private half of a key held outside this process (a PKCS#11 token, reached through its
// module): the relay holds the public key and this handle, never the private key itself.
class ExternalPrivateKey {
 public:
  virtual ~ExternalPrivateKey() = default;
  // The raw signature of `data` as SigningKey::sign defines it: RSASSA-PKCS1-v1_5 with SHA-256 of
  // `data`, or pure Ed25519 over `data` (which SigningKey::sign has made SHA-256(header data)).
  virtual Result<std::string> sign(Algorithm algorithm, std::string_view data) const = 0;
  // For messages: "pkcs11 token 'dkim' object 01ab..."; never secret.
  virtual std::string describe() const = 0;
};

struct KeyPolicy {
  // RFC 8301 requires >= 1024-bit RSA for verifiers; we refuse < 2048 for signing unless opted in.
  bool allow_weak_rsa = false;
};

inline constexpr int kMinRsaBits = 2048;
inline constexpr int kMinWeakRsaBits = 1024;

class SigningKey {
 public:
  // Generates a fresh key: RSA of `bits` (2048, 3072 or 4096; < 2048 refused) or Ed25519 (bits ignored).
  static Result<SigningKey> generate(Algorithm algorithm, int bits = 2048);
  // PEM: PKCS#8 "PRIVATE KEY", or traditional "RSA PRIVATE KEY" as opendkim-genkey writes.
  static Result<SigningKey> from_pem(std::string_view pem, KeyPolicy policy = {});
  static Result<SigningKey> load_file(const std::filesystem::path& path, KeyPolicy policy = {});
  // A key whose private half is `private_part` (outside this process) and whose public half is
  // `public_pem` ("PUBLIC KEY", SubjectPublicKeyInfo). The signatures are checked against the public
  // key by whoever hands out `private_part` (a wrong object must never sign).
  static Result<SigningKey> external(std::string_view public_pem,
                                     std::shared_ptr<const ExternalPrivateKey> private_part, KeyPolicy policy = {});
  // The SubjectPublicKeyInfo PEM of any key (in-process or external).
  static Result<std::string> public_pem_of(EVP_PKEY* key);

  Algorithm algorithm() const { return algorithm_; }
  int bits() const { return bits_; }

  // PKCS#8 PEM of the private key. Secret: never log it. Empty for an external key.
  std::string private_pem() const;
  // "PUBLIC KEY" PEM (SubjectPublicKeyInfo).
  std::string public_pem() const;
  // Null for a key held in this process.
  const ExternalPrivateKey* external_part() const { return external_.get(); }
  // The p= value of the DNS key record: base64 SubjectPublicKeyInfo (RSA) or raw 32-byte key (Ed25519).
  std::string public_key_base64() const;
  // "v=DKIM1; k=rsa; p=..."
  std::string dns_record() const;

  // Signs the canonicalized header data per the algorithm: RSASSA-PKCS1-v1_5 with SHA-256,
  // or Ed25519 over SHA-256(data) as RFC 8463 §3 specifies. Returns the raw signature bytes.
  Result<std::string> sign(std::string_view header_data) const;

  EVP_PKEY* native() const { return key_.get(); }

 private:
  friend class SigningKeyFactory;

  SigningKey(std::shared_ptr<EVP_PKEY> key, Algorithm algorithm, int bits);
  std::shared_ptr<EVP_PKEY> key_;  // shared: EVP_PKEY is immutable after creation and thread-safe to use
  // A signing context initialised once for this key; each signature works on a copy. Setting one up
  // looks up the algorithm in OpenSSL's providers (~3 µs, a tenth of an Ed25519 signature); a copy
  // takes about 0.3 µs. Only ever read after construction (copying reads it), so threads may share it.
  // Null if it could not be set up: sign() then initialises a context per signature.
  std::shared_ptr<const EVP_MD_CTX> sign_template_;
  std::shared_ptr<const ExternalPrivateKey> external_;  // set: key_ is the public key only
  Algorithm algorithm_;
  int bits_;
};

}  // namespace dkr::signer
