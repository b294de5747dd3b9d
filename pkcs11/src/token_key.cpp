#include "token_key.hpp"

#include <openssl/err.h>

#include <array>
#include <vector>

namespace dkr::pkcs11 {

namespace {

// DER DigestInfo prefix of SHA-256 (RFC 8017 §9.2 note 1): CKM_RSA_PKCS signs prefix || digest.
constexpr std::array<unsigned char, 19> kSha256DigestInfo{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                                          0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

}  // namespace

CK_RV find_objects(const SessionUse& use, std::string_view id, long klass, std::vector<CK_OBJECT_HANDLE>& found) {
  CK_OBJECT_CLASS object_class = static_cast<CK_OBJECT_CLASS>(klass);
  std::vector<CK_ATTRIBUTE> query{{CKA_ID, const_cast<char*>(id.data()), id.size()}};
  if (klass >= 0) query.push_back({CKA_CLASS, &object_class, sizeof object_class});
  CK_RV rv = use.f->C_FindObjectsInit(use.session, query.data(), query.size());
  if (rv != CKR_OK) return rv;
  CK_OBJECT_HANDLE batch[16];
  CK_ULONG count = 0;
  do {
    rv = use.f->C_FindObjects(use.session, batch, 16, &count);
    if (rv != CKR_OK) break;
    found.insert(found.end(), batch, batch + count);
  } while (count == 16);
  const CK_RV final_rv = use.f->C_FindObjectsFinal(use.session);
  return rv != CKR_OK ? rv : final_rv;
}

TokenKey::TokenKey(std::shared_ptr<Token> token, std::string id, std::string uri, std::shared_ptr<EVP_PKEY> public_key,
                   signer::Algorithm algorithm, int bits)
    : token_(std::move(token)),
      id_(std::move(id)),
      uri_(std::move(uri)),
      public_key_(std::move(public_key)),
      algorithm_(algorithm),
      signature_size_(algorithm == signer::Algorithm::Ed25519Sha256 ? 64 : static_cast<std::size_t>((bits + 7) / 8)) {}

CK_RV TokenKey::resolve(const SessionUse& use, CK_OBJECT_HANDLE& handle) const {
  {
    std::lock_guard guard(handle_mutex_);
    if (handle_generation_ == use.generation) {
      handle = handle_;
      return CKR_OK;
    }
  }
  std::vector<CK_OBJECT_HANDLE> found;
  CK_RV rv = find_objects(use, id_, CKO_PRIVATE_KEY, found);
  if (rv != CKR_OK) return rv;
  // Zero: the object is gone (destroyed, another token); several: ambiguous. Neither signs.
  if (found.size() != 1) return CKR_KEY_HANDLE_INVALID;
  CK_KEY_TYPE type = 0;
  CK_ATTRIBUTE attribute{CKA_KEY_TYPE, &type, sizeof type};
  rv = use.f->C_GetAttributeValue(use.session, found[0], &attribute, 1);
  if (rv != CKR_OK) return rv;
  const CK_KEY_TYPE wanted = algorithm_ == signer::Algorithm::Ed25519Sha256 ? CKK_EC_EDWARDS : CKK_RSA;
  if (type != wanted) return CKR_KEY_TYPE_INCONSISTENT;
  std::lock_guard guard(handle_mutex_);
  handle_ = found[0];
  handle_generation_ = use.generation;
  handle = handle_;
  return CKR_OK;
}

bool TokenKey::verify(std::string_view data, std::string_view signature) const {
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  const EVP_MD* md = algorithm_ == signer::Algorithm::Ed25519Sha256 ? nullptr : EVP_sha256();
  const bool ok =
      ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, public_key_.get()) == 1 &&
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                       reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  ERR_clear_error();
  return ok;
}

Result<std::string> TokenKey::sign(signer::Algorithm algorithm, std::string_view data) const {
  if (algorithm != algorithm_) return make_error("key algorithm mismatch for " + uri_);
  std::string input;
  CK_MECHANISM mechanism{CKM_EDDSA, nullptr, 0};
  if (algorithm_ == signer::Algorithm::RsaSha256) {
    if (token_->settings().rsa_mechanism == RsaMechanism::Sha256RsaPkcs) {
      mechanism.mechanism = CKM_SHA256_RSA_PKCS;
      input.assign(data);
    } else {
      mechanism.mechanism = CKM_RSA_PKCS;
      unsigned char digest[32];
      unsigned int digest_size = 0;
      if (EVP_Digest(data.data(), data.size(), digest, &digest_size, EVP_sha256(), nullptr) != 1) {
        return make_error("SHA-256 failed");
      }
      input.assign(reinterpret_cast<const char*>(kSha256DigestInfo.data()), kSha256DigestInfo.size());
      input.append(reinterpret_cast<const char*>(digest), digest_size);
    }
  } else {
    input.assign(data);
  }
  std::string signature(signature_size_, '\0');
  for (int attempt = 0; attempt < 2; ++attempt) {
    CK_ULONG length = signature.size();
    bool stale_handle = false;
    auto done = token_->call("C_Sign", [&](const SessionUse& use) -> CK_RV {
      CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
      CK_RV rv = resolve(use, handle);
      if (rv != CKR_OK) return rv;
      rv = use.f->C_SignInit(use.session, &mechanism, handle);
      if (rv == CKR_OK) {
        rv = use.f->C_Sign(use.session, reinterpret_cast<CK_BYTE*>(input.data()), input.size(),
                           reinterpret_cast<CK_BYTE*>(signature.data()), &length);
      }
      if (rv == CKR_KEY_HANDLE_INVALID || rv == CKR_OBJECT_HANDLE_INVALID) {
        std::lock_guard guard(handle_mutex_);
        stale_handle = handle_generation_ != 0;
        handle_generation_ = 0;  // find it again
      }
      return rv;
    });
    if (!done) {
      if (stale_handle && attempt == 0) continue;
      return make_error(done.error().code, done.error().message + " (" + uri_ + ")");
    }
    signature.resize(length);
    // RSA: verified over the header data with SHA-256; Ed25519: over `data`, which is already SHA-256.
    if (!verify(data, signature)) {
      std::lock_guard guard(handle_mutex_);
      handle_generation_ = 0;
      return make_error(ErrorCode::internal, "the token's signature does not verify with the recorded public key (" +
                                                 uri_ + "); nothing was signed with it");
    }
    return signature;
  }
  return make_error(ErrorCode::internal, "no usable key object for " + uri_);
}

}  // namespace dkr::pkcs11
