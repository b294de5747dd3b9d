#include "signer/verifier.hpp"

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <ctime>
#include <map>
#include <memory>

#include "signature_field.hpp"
#include "signer/body_hasher.hpp"
#include "signer/canonicalization.hpp"
#include "signer/message.hpp"
#include "tag_list.hpp"

namespace dkr::signer {

namespace {

struct PublicKeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using PublicKeyPtr = std::unique_ptr<EVP_PKEY, PublicKeyDeleter>;
struct VerifyContextDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

std::vector<std::string> split_colon_list(std::string_view text) {
  std::vector<std::string> out;
  const std::string s = strip_fws(text);
  std::size_t pos = 0;
  while (pos <= s.size()) {
    auto c = s.find(':', pos);
    if (c == std::string::npos) c = s.size();
    out.push_back(s.substr(pos, c - pos));
    pos = c + 1;
  }
  return out;
}

Result<PublicKeyPtr> load_public_key(const KeyRecord& record, Algorithm algorithm) {
  const auto der = base64_decode(record.public_key_b64);
  if (!der) return make_error("public key p= is not valid base64");
  const auto* p = reinterpret_cast<const unsigned char*>(der->data());
  if (algorithm == Algorithm::Ed25519Sha256) {
    if (der->size() != 32) return make_error("Ed25519 public key must be 32 bytes");
    EVP_PKEY* k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, p, der->size());
    if (k == nullptr) return make_error("bad Ed25519 public key");
    return PublicKeyPtr(k);
  }
  EVP_PKEY* k = d2i_PUBKEY(nullptr, &p, static_cast<long>(der->size()));
  if (k == nullptr) {  // some publish PKCS#1 RSAPublicKey instead of SubjectPublicKeyInfo
    p = reinterpret_cast<const unsigned char*>(der->data());
    k = d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, static_cast<long>(der->size()));
  }
  if (k == nullptr || EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA) {
    EVP_PKEY_free(k);
    return make_error("public key is not an RSA key");
  }
  if (EVP_PKEY_get_bits(k) < 1024) {
    EVP_PKEY_free(k);
    return make_error("RSA key under 1024 bits (RFC 8301)");
  }
  return PublicKeyPtr(k);
}

bool verify_signature(EVP_PKEY* key, Algorithm algorithm, std::string_view data, std::string_view signature) {
  std::unique_ptr<EVP_MD_CTX, VerifyContextDeleter> ctx(EVP_MD_CTX_new());
  const auto* sig = reinterpret_cast<const unsigned char*>(signature.data());
  if (algorithm == Algorithm::Ed25519Sha256) {
    const Sha256Digest digest = sha256(data);
    return EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key) == 1 &&
           EVP_DigestVerify(ctx.get(), sig, signature.size(), digest.data(), digest.size()) == 1;
  }
  return EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
         EVP_DigestVerify(ctx.get(), sig, signature.size(), reinterpret_cast<const unsigned char*>(data.data()),
                          data.size()) == 1;
}

class BodyHashCache {
 public:
  explicit BodyHashCache(std::string_view body) : body_(body) {}
  std::string get(Canon canon, std::optional<std::uint64_t> length) {
    std::string& canonical = canonical_[canon];
    if (canonical.empty()) canonical = canonicalize_body(canon, body_);
    std::string_view hashed = canonical;
    if (length && *length < hashed.size()) hashed = hashed.substr(0, *length);
    const Sha256Digest d = sha256(hashed);
    return std::string(reinterpret_cast<const char*>(d.data()), d.size());
  }

 private:
  std::string_view body_;
  std::map<Canon, std::string> canonical_;
};

VerifyResult verify_one(const HeaderField& field, const SplitMessage& message, BodyHashCache& bodies,
                        const KeyLookup& lookup) {
  VerifyResult r;
  auto fail = [&r](std::string reason) {
    r.pass = false;
    r.reason = std::move(reason);
    return r;
  };
  const auto tags = TagList::parse(header_value(field));
  if (!tags) return fail("malformed signature: " + tags.error().message);
  auto get = [&](std::string_view name) -> std::string {
    const auto* v = tags->find(name);
    return v ? *v : std::string();
  };
  r.domain = get("d");
  r.selector = get("s");
  r.algorithm = get("a");
  for (const char* required : {"v", "a", "b", "bh", "d", "h", "s"})
    if (tags->find(required) == nullptr) return fail(std::string("missing required tag ") + required + "=");
  if (get("v") != "1") return fail("unsupported version v=" + get("v"));
  const auto algorithm = parse_algorithm(r.algorithm);
  if (!algorithm) return fail("unsupported algorithm a=" + r.algorithm);
  Canonicalization canon{Canon::Simple, Canon::Simple};
  if (tags->find("c") != nullptr) {
    const auto c = parse_canonicalization(get("c"));
    if (!c) return fail("unsupported canonicalization c=" + get("c"));
    canon = *c;
  }
  const auto names = split_colon_list(get("h"));
  bool signs_from = false;
  for (const auto& n : names) signs_from = signs_from || header_name_equals(n, "from");
  if (!signs_from) return fail("h= does not include From");
  if (tags->find("x") != nullptr) {
    const long long x = std::atoll(get("x").c_str());
    if (x < static_cast<long long>(std::time(nullptr))) return fail("signature expired (x=)");
  }
  std::optional<std::uint64_t> length;
  if (tags->find("l") != nullptr) length = std::strtoull(get("l").c_str(), nullptr, 10);

  const auto bh = base64_decode(get("bh"));
  if (!bh) return fail("bh= is not base64");
  if (bodies.get(canon.body, length) != *bh) return fail("body hash mismatch (body was modified)");

  const auto txt = lookup(r.selector, r.domain);
  if (!txt) return fail("key lookup failed: " + txt.error().message);
  const auto record = parse_key_record(*txt);
  if (!record) return fail("bad key record: " + record.error().message);
  if (record->revoked()) return fail("key revoked (empty p=)");
  if (record->key_type != key_type(*algorithm)) return fail("key type k=" + record->key_type + " does not match a=");
  if (!record->hashes.empty()) {
    bool sha256_ok = false;
    for (const auto& h : record->hashes) sha256_ok = sha256_ok || h == "sha256";
    if (!sha256_ok) return fail("key record h= does not allow sha256");
  }
  auto key = load_public_key(*record, *algorithm);
  if (!key) return fail(key.error().message);

  std::string data;
  append_signed_headers(data, canon.header, message.headers, names);
  data += canonicalize_signature_field(canon.header, remove_b_tag_value(field.raw));
  const auto signature = base64_decode(get("b"));
  if (!signature) return fail("b= is not base64");
  if (!verify_signature(key->get(), *algorithm, data, *signature)) return fail("signature did not verify");
  r.pass = true;
  r.reason = "ok";
  return r;
}

}  // namespace

Result<KeyRecord> parse_key_record(std::string_view txt) {
  const auto tags = TagList::parse(txt);
  if (!tags) return tags.error();
  KeyRecord record;
  if (const auto* v = tags->find("v"); v != nullptr && *v != "DKIM1") return make_error("v= is not DKIM1");
  if (!tags->tags().empty() && tags->find("v") != nullptr && tags->tags().front().name != "v")
    return make_error("v= must be the first tag");
  const auto* p = tags->find("p");
  if (p == nullptr) return make_error("missing p=");
  record.public_key_b64 = strip_fws(*p);
  if (const auto* k = tags->find("k")) record.key_type = *k;
  if (const auto* h = tags->find("h")) record.hashes = split_colon_list(*h);
  if (const auto* t = tags->find("t")) record.flags = split_colon_list(*t);
  return record;
}

std::vector<VerifyResult> verify_message(std::string_view message, const KeyLookup& lookup) {
  const SplitMessage split = split_message(message);
  BodyHashCache bodies(split.body);
  std::vector<VerifyResult> results;
  for (const auto& field : split.headers)
    if (header_name_equals(field.name, "DKIM-Signature")) results.push_back(verify_one(field, split, bodies, lookup));
  return results;
}

}  // namespace dkr::signer
