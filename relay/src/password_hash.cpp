#include "relay/password_hash.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/password_hash_format.hpp"

namespace dkr::relay {

namespace {

// PBKDF2 over `params`' salt and iterations, as long a key as `params.hash`.
bool derive(std::string_view password, const PasswordHash& params, std::string& out) {
  out.assign(params.hash.size(), '\0');
  return PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                           reinterpret_cast<const unsigned char*>(params.salt.data()),
                           static_cast<int>(params.salt.size()), static_cast<int>(params.iterations), EVP_sha256(),
                           static_cast<int>(out.size()), reinterpret_cast<unsigned char*>(out.data())) == 1;
}

}  // namespace

bool verify_password(std::string_view password, std::string_view encoded_hash) {
  auto parsed = parse_password_hash(encoded_hash);
  if (!parsed) return false;
  std::string derived;
  if (!derive(password, *parsed, derived)) return false;
  bool equal = CRYPTO_memcmp(derived.data(), parsed->hash.data(), derived.size()) == 0;
  OPENSSL_cleanse(derived.data(), derived.size());
  return equal;
}

std::string make_password_hash(std::string_view password, std::uint32_t iterations) {
  PasswordHash params;
  params.iterations = iterations;
  params.salt.assign(16, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(params.salt.data()), 16);
  params.hash.assign(32, '\0');
  std::string derived;
  derive(password, params, derived);
  params.hash = std::move(derived);
  return format_password_hash(params);
}

}  // namespace dkr::relay
