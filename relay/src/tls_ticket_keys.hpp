#pragma once
// TLS session tickets (RFC 8446 §4.6.1, RFC 5077) for returning clients, with keys the relay
// rotates itself: OpenSSL's own ticket key is made once per SSL_CTX and never changes, so a key
// stolen from a long-running relay would decrypt every session it ever resumed.
//
// One key set per SSL_CTX, shared by all I/O threads (the context is): a new key every `rotation`,
// the one before it still accepted (its tickets are renewed), older ones forgotten. A ticket thus
// resumes for at most two rotation periods and never outlives the process.
#include <chrono>

#include <openssl/ssl.h>

namespace dkr::relay {

// Installs the ticket key callback on `ctx` (which owns the keys from then on) and sets the
// session lifetime to twice `rotation`. Returns false when OpenSSL refuses.
bool install_rotating_ticket_keys(SSL_CTX* ctx, std::chrono::seconds rotation);

}  // namespace dkr::relay
