#include "pkcs11/pkcs11_vault.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <array>
#include <vector>

#include "token.hpp"
#include "token_key.hpp"
#include "token_reference.hpp"

namespace dkr::pkcs11 {

namespace {

// DER of the OID id-Ed25519 (1.3.101.112, RFC 8410): CKA_EC_PARAMS of an Ed25519 key.
constexpr std::array<unsigned char, 5> kEd25519Params{0x06, 0x03, 0x2b, 0x65, 0x70};
constexpr std::array<unsigned char, 3> kRsaExponent{0x01, 0x00, 0x01};

using PkeyPtr = std::shared_ptr<EVP_PKEY>;

std::string openssl_text(const std::string& what) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  char text[256] = "";
  if (code != 0) ERR_error_string_n(code, text, sizeof text);
  return what + (code != 0 ? std::string(": ") + text : std::string());
}

PkeyPtr parse_public_pem(std::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (!bio) return nullptr;
  EVP_PKEY* raw = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  ERR_clear_error();
  return raw ? PkeyPtr(raw, EVP_PKEY_free) : nullptr;
}

PkeyPtr rsa_public(const std::string& modulus, const std::string& exponent) {
  std::unique_ptr<BIGNUM, decltype(&BN_free)> n(
      BN_bin2bn(reinterpret_cast<const unsigned char*>(modulus.data()), static_cast<int>(modulus.size()), nullptr),
      BN_free);
  std::unique_ptr<BIGNUM, decltype(&BN_free)> e(
      BN_bin2bn(reinterpret_cast<const unsigned char*>(exponent.data()), static_cast<int>(exponent.size()), nullptr),
      BN_free);
  std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> build(OSSL_PARAM_BLD_new(), OSSL_PARAM_BLD_free);
  if (!n || !e || !build || OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    return nullptr;
  }
  std::unique_ptr<OSSL_PARAM, decltype(&OSSL_PARAM_free)> params(OSSL_PARAM_BLD_to_param(build.get()), OSSL_PARAM_free);
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr),
                                                                  EVP_PKEY_CTX_free);
  EVP_PKEY* key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return nullptr;
  }
  return PkeyPtr(key, EVP_PKEY_free);
}

// CKA_EC_POINT of an Edwards key: the 32 raw bytes, which modules give either bare or (SoftHSM2) as
// a DER OCTET STRING.
PkeyPtr ed25519_public(const std::string& point) {
  std::string_view raw = point;
  if (raw.size() == 34 && static_cast<unsigned char>(raw[0]) == 0x04 && raw[1] == 0x20) raw.remove_prefix(2);
  if (raw.size() != 32) return nullptr;
  EVP_PKEY* key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                              reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
  return key ? PkeyPtr(key, EVP_PKEY_free) : nullptr;
}

// A variable-length attribute of `object`.
CK_RV read_attribute(const SessionUse& use, CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type, std::string& out) {
  CK_ATTRIBUTE attribute{type, nullptr, 0};
  CK_RV rv = use.f->C_GetAttributeValue(use.session, object, &attribute, 1);
  if (rv != CKR_OK) return rv;
  out.assign(attribute.ulValueLen, '\0');
  attribute.pValue = out.data();
  rv = use.f->C_GetAttributeValue(use.session, object, &attribute, 1);
  out.resize(attribute.ulValueLen);
  return rv;
}

std::string bn_bytes(const BIGNUM* bn) {
  std::string out(static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

// Wipes the private components an import handled.
struct SecretBytes {
  std::vector<std::string> parts;
  ~SecretBytes() {
    for (auto& part : parts) OPENSSL_cleanse(part.data(), part.size());
  }
  std::string& add(std::string value) { return parts.emplace_back(std::move(value)); }
};

class Pkcs11VaultImpl final : public Pkcs11Vault {
 public:
  explicit Pkcs11VaultImpl(std::shared_ptr<Token> token) : token_(std::move(token)) {}

  bool available() const override { return token_->available(); }
  bool supports_ed25519() const override { return token_->supports_ed25519(); }
  std::string last_problem() const override { return token_->available() ? std::string() : token_->last_problem(); }
  std::string_view name() const override { return "pkcs11"; }

  Result<keystore::VaultKey> generate(signer::Algorithm algorithm, int bits, std::string_view label) override {
    if (algorithm == signer::Algorithm::Ed25519Sha256 && !token_->supports_ed25519()) return no_ed25519();
    auto id = new_id();
    if (!id) return id.error();
    CK_BBOOL yes = CK_TRUE;
    CK_BBOOL no = CK_FALSE;
    CK_ULONG modulus_bits = static_cast<CK_ULONG>(bits);
    std::string name(label);
    std::vector<CK_ATTRIBUTE> public_template{
        {CKA_TOKEN, &yes, sizeof yes},
        {CKA_VERIFY, &yes, sizeof yes},
        {CKA_ID, id->data(), id->size()},
        {CKA_LABEL, name.data(), name.size()},
    };
    std::vector<CK_ATTRIBUTE> private_template{
        {CKA_TOKEN, &yes, sizeof yes},         {CKA_PRIVATE, &yes, sizeof yes}, {CKA_SENSITIVE, &yes, sizeof yes},
        {CKA_EXTRACTABLE, &no, sizeof no},     {CKA_SIGN, &yes, sizeof yes},    {CKA_ID, id->data(), id->size()},
        {CKA_LABEL, name.data(), name.size()},
    };
    CK_MECHANISM mechanism{CKM_RSA_PKCS_KEY_PAIR_GEN, nullptr, 0};
    if (algorithm == signer::Algorithm::Ed25519Sha256) {
      mechanism.mechanism = CKM_EC_EDWARDS_KEY_PAIR_GEN;
      public_template.push_back(
          {CKA_EC_PARAMS, const_cast<unsigned char*>(kEd25519Params.data()), kEd25519Params.size()});
    } else {
      public_template.push_back({CKA_MODULUS_BITS, &modulus_bits, sizeof modulus_bits});
      public_template.push_back(
          {CKA_PUBLIC_EXPONENT, const_cast<unsigned char*>(kRsaExponent.data()), kRsaExponent.size()});
    }
    PkeyPtr public_key;
    auto made = token_->call("C_GenerateKeyPair", [&](const SessionUse& use) -> CK_RV {
      CK_OBJECT_HANDLE public_object = CK_INVALID_HANDLE;
      CK_OBJECT_HANDLE private_object = CK_INVALID_HANDLE;
      CK_RV rv =
          use.f->C_GenerateKeyPair(use.session, &mechanism, public_template.data(), public_template.size(),
                                   private_template.data(), private_template.size(), &public_object, &private_object);
      if (rv != CKR_OK) return rv;
      if (algorithm == signer::Algorithm::Ed25519Sha256) {
        std::string point;
        rv = read_attribute(use, public_object, CKA_EC_POINT, point);
        if (rv == CKR_OK) public_key = ed25519_public(point);
      } else {
        std::string modulus, exponent;
        rv = read_attribute(use, public_object, CKA_MODULUS, modulus);
        if (rv == CKR_OK) rv = read_attribute(use, public_object, CKA_PUBLIC_EXPONENT, exponent);
        if (rv == CKR_OK) public_key = rsa_public(modulus, exponent);
      }
      return rv;
    });
    if (!made) return made.error();
    TokenReference reference{token_->label(), *id, name, {}};
    if (!public_key) {
      (void)destroy(format_reference(reference));
      return make_error("the token returned a public key that cannot be read");
    }
    return finish(std::move(reference), public_key);
  }

  Result<keystore::VaultKey> import(const signer::SigningKey& key, std::string_view label) override {
    if (key.external_part() != nullptr) return make_error(ErrorCode::invalid, "the key is already in a token");
    if (key.algorithm() == signer::Algorithm::Ed25519Sha256 && !token_->supports_ed25519()) return no_ed25519();
    auto id = new_id();
    if (!id) return id.error();
    EVP_PKEY* pkey = key.native();
    CK_OBJECT_CLASS klass = CKO_PRIVATE_KEY;
    CK_KEY_TYPE type = key.algorithm() == signer::Algorithm::Ed25519Sha256 ? CKK_EC_EDWARDS : CKK_RSA;
    CK_BBOOL yes = CK_TRUE;
    CK_BBOOL no = CK_FALSE;
    std::string name(label);
    std::vector<CK_ATTRIBUTE> object{
        {CKA_CLASS, &klass, sizeof klass}, {CKA_KEY_TYPE, &type, sizeof type}, {CKA_TOKEN, &yes, sizeof yes},
        {CKA_PRIVATE, &yes, sizeof yes},   {CKA_SENSITIVE, &yes, sizeof yes},  {CKA_EXTRACTABLE, &no, sizeof no},
        {CKA_SIGN, &yes, sizeof yes},      {CKA_ID, id->data(), id->size()},   {CKA_LABEL, name.data(), name.size()},
    };
    SecretBytes secrets;
    if (key.algorithm() == signer::Algorithm::Ed25519Sha256) {
      std::string& raw = secrets.add(std::string(32, '\0'));
      size_t size = raw.size();
      if (EVP_PKEY_get_raw_private_key(pkey, reinterpret_cast<unsigned char*>(raw.data()), &size) != 1 || size != 32) {
        return make_error(openssl_text("cannot read the Ed25519 private key"));
      }
      object.push_back({CKA_EC_PARAMS, const_cast<unsigned char*>(kEd25519Params.data()), kEd25519Params.size()});
      object.push_back({CKA_VALUE, raw.data(), raw.size()});
    } else {
      const std::pair<const char*, CK_ATTRIBUTE_TYPE> components[] = {
          {OSSL_PKEY_PARAM_RSA_N, CKA_MODULUS},
          {OSSL_PKEY_PARAM_RSA_E, CKA_PUBLIC_EXPONENT},
          {OSSL_PKEY_PARAM_RSA_D, CKA_PRIVATE_EXPONENT},
          {OSSL_PKEY_PARAM_RSA_FACTOR1, CKA_PRIME_1},
          {OSSL_PKEY_PARAM_RSA_FACTOR2, CKA_PRIME_2},
          {OSSL_PKEY_PARAM_RSA_EXPONENT1, CKA_EXPONENT_1},
          {OSSL_PKEY_PARAM_RSA_EXPONENT2, CKA_EXPONENT_2},
          {OSSL_PKEY_PARAM_RSA_COEFFICIENT1, CKA_COEFFICIENT},
      };
      secrets.parts.reserve(std::size(components));  // the attributes point into these strings
      for (const auto& [param, attribute] : components) {
        BIGNUM* bn = nullptr;
        if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1) return make_error(openssl_text("cannot read the RSA key"));
        std::string& bytes = secrets.add(bn_bytes(bn));
        BN_clear_free(bn);
        object.push_back({attribute, bytes.data(), bytes.size()});
      }
    }
    auto created = token_->call("C_CreateObject", [&](const SessionUse& use) -> CK_RV {
      CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
      return use.f->C_CreateObject(use.session, object.data(), object.size(), &handle);
    });
    if (!created) return created.error();
    auto public_key = parse_public_pem(key.public_pem());
    if (!public_key) return make_error("cannot read the imported key's public half");
    return finish(TokenReference{token_->label(), *id, name, {}}, public_key);
  }

  Result<signer::SigningKey> open(std::string_view stored, signer::KeyPolicy policy) const override {
    auto reference = parse_reference(stored);
    if (!reference) {
      if (!keystore::is_token_reference(stored)) {
        return make_error(ErrorCode::invalid,
                          "the store holds this private key itself, but keystore.private_keys is \"pkcs11\": "
                          "the relay will not load it; move it into the token (export it with keys export and "
                          "import the bundle with private_keys = \"pkcs11\") or stage a new key");
      }
      return make_error(ErrorCode::invalid,
                        "unreadable token reference: " + std::string(stored.substr(0, stored.find('\n'))));
    }
    if (reference->token != token_->label()) {
      return make_error(ErrorCode::invalid, "the key lives in token '" + reference->token +
                                                "' but pkcs11.token_label is '" + token_->label() + "'");
    }
    auto public_key = parse_public_pem(reference->public_pem);
    if (!public_key) return make_error(ErrorCode::invalid, "the token reference has no readable public key");
    const bool ed25519 = EVP_PKEY_get_base_id(public_key.get()) == EVP_PKEY_ED25519;
    const auto algorithm = ed25519 ? signer::Algorithm::Ed25519Sha256 : signer::Algorithm::RsaSha256;
    const int bits = ed25519 ? 256 : EVP_PKEY_get_bits(public_key.get());
    if (ed25519 && !token_->supports_ed25519()) return no_ed25519();
    auto private_part =
        std::make_shared<TokenKey>(token_, reference->id, reference_uri(*reference), public_key, algorithm, bits);
    return signer::SigningKey::external(reference->public_pem, std::move(private_part), policy);
  }

  Result<void> destroy(std::string_view stored) override {
    auto reference = parse_reference(stored);
    if (!reference) return make_error(ErrorCode::invalid, "not a token reference");
    if (reference->token != token_->label()) {
      return make_error(ErrorCode::invalid,
                        "the key lives in token '" + reference->token + "', not in '" + token_->label() + "'");
    }
    return token_->call("C_DestroyObject", [&](const SessionUse& use) -> CK_RV {
      std::vector<CK_OBJECT_HANDLE> found;
      CK_RV rv = find_objects(use, reference->id, -1, found);
      for (CK_OBJECT_HANDLE handle : found) {
        if (rv != CKR_OK) break;
        rv = use.f->C_DestroyObject(use.session, handle);
      }
      return rv;
    });
  }

 private:
  static Result<std::string> new_id() {
    std::string id(16, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(id.data()), static_cast<int>(id.size())) != 1) {
      return make_error("no random bytes for a key id");
    }
    return id;
  }

  Error no_ed25519() const {
    return make_error(ErrorCode::invalid, "the PKCS#11 token '" + token_->label() +
                                              "' does not offer Ed25519 (CKM_EC_EDWARDS_KEY_PAIR_GEN and CKM_EDDSA); "
                                              "use RSA keys with keystore.private_keys = \"pkcs11\"");
  }

  Result<keystore::VaultKey> finish(TokenReference reference, const PkeyPtr& public_key) {
    auto pem = signer::SigningKey::public_pem_of(public_key.get());
    if (!pem) return pem.error();
    reference.public_pem = std::move(*pem);
    std::string stored = format_reference(reference);
    auto key = open(stored, signer::KeyPolicy{true});
    if (!key) return key.error();
    return keystore::VaultKey{std::move(*key), std::move(stored)};
  }

  std::shared_ptr<Token> token_;
};

}  // namespace

Result<std::shared_ptr<Pkcs11Vault>> Pkcs11Vault::connect(const TokenSettings& settings, OpenFailure* failure) {
  auto token = Token::open(settings, failure);
  if (!token) return token.error();
  return std::shared_ptr<Pkcs11Vault>(std::make_shared<Pkcs11VaultImpl>(std::move(*token)));
}

}  // namespace dkr::pkcs11
