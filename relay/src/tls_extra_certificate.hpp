#pragma once
// A second server certificate of the other key type (relay.tls_extra_cert / tls_extra_key), so one
// listener serves ECDSA to the clients that offer ECDSA signatures (the cheap handshake) and RSA to
// the others. OpenSSL keeps one certificate per key type in an SSL_CTX and picks, per handshake,
// the one the client's signature_algorithms allow.
#include <string>

#include <openssl/ssl.h>

#include "common/result.hpp"

namespace dkr::relay {

// Adds `cert_file` (PEM chain) and `key_file` to `ctx`, which already holds relay.tls_cert. Refuses
// a certificate of the same key type as the one already there (it would replace it), a key that
// does not match, and unreadable files; each error names the config key.
Result<void> add_extra_certificate(SSL_CTX* ctx, const std::string& cert_file, const std::string& key_file);

}  // namespace dkr::relay
