#include "tls_ticket_keys.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <cstring>
#include <memory>
#include <mutex>

namespace dkr::relay {

namespace {

using Clock = std::chrono::steady_clock;

struct TicketKey {
  std::array<unsigned char, 16> name{};
  std::array<unsigned char, 32> aes{};
  std::array<unsigned char, 32> hmac{};
  Clock::time_point made{};
  bool valid = false;
};

struct TicketKeys {
  std::chrono::seconds rotation;
  std::mutex mutex;
  TicketKey current;
  TicketKey previous;

  // Under mutex. A key that cannot be made randomly is not made: tickets then stop (full
  // handshakes) instead of being sealed with a predictable key.
  void rotate_if_due(Clock::time_point now) {
    if (current.valid && now - current.made < rotation) return;
    TicketKey next;
    if (RAND_bytes(next.name.data(), static_cast<int>(next.name.size())) != 1 ||
        RAND_priv_bytes(next.aes.data(), static_cast<int>(next.aes.size())) != 1 ||
        RAND_priv_bytes(next.hmac.data(), static_cast<int>(next.hmac.size())) != 1) {
      OPENSSL_cleanse(&previous, sizeof previous);
      previous = current;
      current = TicketKey{};
      return;
    }
    next.made = now;
    next.valid = true;
    OPENSSL_cleanse(&previous, sizeof previous);
    previous = current;
    current = next;
    OPENSSL_cleanse(&next, sizeof next);
  }

  ~TicketKeys() {
    OPENSSL_cleanse(&current, sizeof current);
    OPENSSL_cleanse(&previous, sizeof previous);
  }
};

int ex_index() {
  static const int index = SSL_CTX_get_ex_new_index(
      0, nullptr, nullptr, nullptr,
      [](void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) { delete static_cast<TicketKeys*>(ptr); });
  return index;
}

bool set_hmac_key(EVP_MAC_CTX* mac, const TicketKey& key) {
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, const_cast<unsigned char*>(key.hmac.data()),
                                        key.hmac.size()),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  return EVP_MAC_CTX_set_params(mac, params) == 1;
}

// OpenSSL's contract: encrypting, name and iv are ours to fill (1: ticket, 0: none); decrypting,
// 1 resumes, 2 resumes and issues a fresh ticket, 0 falls back to a full handshake, -1 aborts it.
// Every resumption gets a fresh ticket (2), not only those under the retiring key: RFC 8446 C.4
// asks clients not to reuse one, and the ticket is the server's answer to the client's Finished.
// Without it the server says nothing until the client's first command, which a client with Nagle
// on (PHP's and Python's defaults) holds back until that Finished is acknowledged: a 40 ms
// delayed ACK on every resumed connection (bench/relay/tls_bench.py: 80 against 415 connections/s).
int ticket_key_callback(SSL* ssl, unsigned char name[16], unsigned char iv[EVP_MAX_IV_LENGTH], EVP_CIPHER_CTX* cipher,
                        EVP_MAC_CTX* mac, int encrypt) {
  auto* keys = static_cast<TicketKeys*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ex_index()));
  if (keys == nullptr) return 0;
  std::lock_guard lock(keys->mutex);
  keys->rotate_if_due(Clock::now());
  if (encrypt) {
    const TicketKey& key = keys->current;
    if (!key.valid) return 0;
    std::memcpy(name, key.name.data(), key.name.size());
    if (RAND_bytes(iv, 16) != 1) return -1;
    if (EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.aes.data(), iv) != 1) return -1;
    return set_hmac_key(mac, key) ? 1 : -1;
  }
  for (const TicketKey* key : {&keys->current, &keys->previous}) {
    if (!key->valid || std::memcmp(name, key->name.data(), key->name.size()) != 0) continue;
    if (!set_hmac_key(mac, *key)) return -1;
    if (EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key->aes.data(), iv) != 1) return -1;
    return 2;
  }
  return 0;  // unknown or forgotten key: a full handshake
}

}  // namespace

bool install_rotating_ticket_keys(SSL_CTX* ctx, std::chrono::seconds rotation) {
  auto keys = std::make_unique<TicketKeys>();
  keys->rotation = rotation;
  if (SSL_CTX_set_ex_data(ctx, ex_index(), keys.get()) != 1) return false;
  keys.release();  // freed with the context by ex_index()'s free function
  // A ticket opens for up to two rotation periods; the session's lifetime (the ticket's lifetime
  // hint) says so. Rotation 0 (tests: a new key for every ticket operation) keeps OpenSSL's default.
  if (rotation.count() > 0) SSL_CTX_set_timeout(ctx, static_cast<long>(2 * rotation.count()));
  return SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_key_callback) == 1;
}

}  // namespace dkr::relay
