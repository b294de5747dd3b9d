#pragma once
// The SHA-256 implementation, fetched from OpenSSL's providers once per process.
#include <openssl/evp.h>

namespace dkr::signer {

// EVP_sha256() is only a name: each EVP_DigestInit_ex or EVP_Digest with it looks the
// implementation up again (a provider-store search under a lock, ~0.25 µs). This one is fetched
// once and kept for the life of the process.
const EVP_MD* sha256_md();

}  // namespace dkr::signer
