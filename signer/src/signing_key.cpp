#include "signer/signing_key.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "openssl_error.hpp"
#include "sha256_md.hpp"
#include "signer/body_hasher.hpp"

namespace dkr::signer {

namespace {

using PkeyPtr = std::shared_ptr<EVP_PKEY>;
PkeyPtr wrap(EVP_PKEY* key) { return PkeyPtr(key, EVP_PKEY_free); }

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

Result<SigningKey> classify(PkeyPtr key, KeyPolicy policy);

// A context ready for EVP_DigestSign with `key`: a copy of the template, else a fresh one.
MdCtxPtr sign_context(const EVP_MD_CTX* sign_template, EVP_PKEY* key, Algorithm algorithm) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return ctx;
  if (sign_template != nullptr && EVP_MD_CTX_copy_ex(ctx.get(), sign_template) == 1) return ctx;
  ERR_clear_error();
  // RFC 8463: Ed25519 signs SHA-256(data) with no digest of its own; RSA hashes with SHA-256.
  const EVP_MD* md = algorithm == Algorithm::Ed25519Sha256 ? nullptr : sha256_md();
  if (EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key) != 1) ctx.reset();
  return ctx;
}

}  // namespace

SigningKey::SigningKey(std::shared_ptr<EVP_PKEY> key, Algorithm algorithm, int bits)
    : key_(std::move(key)), algorithm_(algorithm), bits_(bits) {
  MdCtxPtr ctx = sign_context(nullptr, key_.get(), algorithm_);
  if (!ctx) {
    ERR_clear_error();  // sign() will set up a context per signature and report the error then
    return;
  }
  sign_template_ = std::shared_ptr<const EVP_MD_CTX>(
      ctx.release(), [](const EVP_MD_CTX* c) { EVP_MD_CTX_free(const_cast<EVP_MD_CTX*>(c)); });
}

class SigningKeyFactory {
 public:
  static SigningKey make(PkeyPtr key, Algorithm algorithm, int bits) {
    return SigningKey(std::move(key), algorithm, bits);
  }
  static SigningKey make_external(PkeyPtr public_key, Algorithm algorithm, int bits,
                                  std::shared_ptr<const ExternalPrivateKey> private_part) {
    SigningKey key(std::move(public_key), algorithm, bits);
    key.external_ = std::move(private_part);
    return key;
  }
};

namespace {

Result<SigningKey> classify(PkeyPtr key, KeyPolicy policy) {
  const int id = EVP_PKEY_get_base_id(key.get());
  if (id == EVP_PKEY_ED25519) return SigningKeyFactory::make(std::move(key), Algorithm::Ed25519Sha256, 256);
  if (id != EVP_PKEY_RSA) return make_error("unsupported key type (need RSA or Ed25519)");
  const int bits = EVP_PKEY_get_bits(key.get());
  if (bits < kMinWeakRsaBits)
    return make_error("RSA key of " + std::to_string(bits) + " bits is too weak to sign (RFC 8301)");
  if (bits < kMinRsaBits && !policy.allow_weak_rsa)
    return make_error("RSA key of " + std::to_string(bits) +
                      " bits is below 2048; signing with it needs allow_weak_rsa");
  return SigningKeyFactory::make(std::move(key), Algorithm::RsaSha256, bits);
}

}  // namespace

Result<SigningKey> SigningKey::generate(Algorithm algorithm, int bits) {
  EVP_PKEY* raw = nullptr;
  if (algorithm == Algorithm::Ed25519Sha256) {
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    bits = 256;
  } else {
    if (bits < kMinRsaBits) return make_error("refusing to generate an RSA key under 2048 bits");
    if (bits > 8192) return make_error("RSA key size over 8192 bits is not supported");
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits));
  }
  if (raw == nullptr) return make_error(openssl_error("key generation failed"));
  return SigningKey(wrap(raw), algorithm, bits);
}

Result<SigningKey> SigningKey::from_pem(std::string_view pem, KeyPolicy policy) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return make_error("out of memory");
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (raw == nullptr) return make_error(openssl_error("not a PEM private key"));
  return classify(wrap(raw), policy);
}

Result<SigningKey> SigningKey::external(std::string_view public_pem,
                                        std::shared_ptr<const ExternalPrivateKey> private_part, KeyPolicy policy) {
  if (!private_part) return make_error("external key without its private part");
  BioPtr bio(BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size())));
  if (!bio) return make_error("out of memory");
  EVP_PKEY* raw = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (raw == nullptr) return make_error(openssl_error("not a PEM public key"));
  auto classified = classify(wrap(raw), policy);
  if (!classified) return classified.error();
  return SigningKeyFactory::make_external(classified->key_, classified->algorithm_, classified->bits_,
                                          std::move(private_part));
}

Result<std::string> SigningKey::public_pem_of(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key) != 1) return make_error(openssl_error("cannot write public key"));
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::string SigningKey::public_pem() const {
  auto pem = public_pem_of(key_.get());
  return pem ? *pem : std::string();
}

Result<SigningKey> SigningKey::load_file(const std::filesystem::path& path, KeyPolicy policy) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("cannot read key file " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  auto key = from_pem(text.str(), policy);
  if (!key) return make_error(path.string() + ": " + key.error().message);
  return key;
}

std::string SigningKey::private_pem() const {
  if (external_) return {};
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) return {};
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::string SigningKey::public_key_base64() const {
  if (algorithm_ == Algorithm::Ed25519Sha256) {
    unsigned char raw[32];
    size_t len = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(key_.get(), raw, &len) != 1) return {};
    return base64_encode(std::string_view(reinterpret_cast<const char*>(raw), len));
  }
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(key_.get(), &der);
  if (len <= 0) return {};
  std::string out = base64_encode(std::string_view(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len)));
  OPENSSL_free(der);
  return out;
}

std::string SigningKey::dns_record() const {
  return "v=DKIM1; k=" + std::string(key_type(algorithm_)) + "; p=" + public_key_base64();
}

Result<std::string> SigningKey::sign(std::string_view header_data) const {
  if (external_) {
    if (algorithm_ == Algorithm::Ed25519Sha256) {
      const Sha256Digest digest = sha256(header_data);
      return external_->sign(algorithm_, std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
    }
    return external_->sign(algorithm_, header_data);
  }
  MdCtxPtr ctx = sign_context(sign_template_.get(), key_.get(), algorithm_);
  if (!ctx) return make_error(openssl_error("sign init failed"));
  std::string signature;
  size_t len = 0;
  if (algorithm_ == Algorithm::Ed25519Sha256) {
    // RFC 8463 §3: Ed25519 (pure) over the SHA-256 hash of the canonicalized header data.
    const Sha256Digest digest = sha256(header_data);
    len = 64;
    signature.resize(len);
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len, digest.data(),
                       digest.size()) != 1)
      return make_error(openssl_error("Ed25519 signing failed"));
  } else {
    len = static_cast<size_t>(EVP_PKEY_get_size(key_.get()));
    signature.resize(len);
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len,
                       reinterpret_cast<const unsigned char*>(header_data.data()), header_data.size()) != 1)
      return make_error(openssl_error("RSA signing failed"));
  }
  signature.resize(len);
  return signature;
}

}  // namespace dkr::signer
