#include "tls_extra_certificate.hpp"

#include <cstdio>
#include <memory>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace dkr::relay {
namespace {

std::string key_type_name(int id) {
  switch (id) {
    case EVP_PKEY_RSA:
      return "RSA";
    case EVP_PKEY_RSA_PSS:
      return "RSA-PSS";
    case EVP_PKEY_EC:
      return "ECDSA";
    case EVP_PKEY_ED25519:
      return "Ed25519";
    case EVP_PKEY_ED448:
      return "Ed448";
    default:
      return "key type " + std::to_string(id);
  }
}

std::string openssl_reason() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

int certificate_key_type(X509* cert) {
  EVP_PKEY* key = cert != nullptr ? X509_get0_pubkey(cert) : nullptr;
  return key != nullptr ? EVP_PKEY_get_base_id(key) : EVP_PKEY_NONE;
}

}  // namespace

Result<void> add_extra_certificate(SSL_CTX* ctx, const std::string& cert_file, const std::string& key_file) {
  const int first = certificate_key_type(SSL_CTX_get0_certificate(ctx));
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(cert_file.c_str(), "r"), &std::fclose);
  if (!file) return make_error("relay.tls_extra_cert: cannot open " + cert_file);
  std::unique_ptr<X509, void (*)(X509*)> leaf(PEM_read_X509(file.get(), nullptr, nullptr, nullptr), &X509_free);
  if (!leaf) return make_error("relay.tls_extra_cert: no PEM certificate in " + cert_file + ": " + openssl_reason());
  const int second = certificate_key_type(leaf.get());
  // OpenSSL would silently replace relay.tls_cert with a certificate of the same type.
  if (second == first) {
    return make_error("relay.tls_extra_cert: " + cert_file + " holds an " + key_type_name(second) +
                      " certificate, like relay.tls_cert; it must be of the other key type (e.g. RSA beside ECDSA)");
  }
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1)
    return make_error("relay.tls_extra_cert: " + cert_file + ": " + openssl_reason());
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1)
    return make_error("relay.tls_extra_key: " + key_file + " is not the key of relay.tls_extra_cert (" + cert_file +
                      "): " + openssl_reason());
  return {};
}

}  // namespace dkr::relay
