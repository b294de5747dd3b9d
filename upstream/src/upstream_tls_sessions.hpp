#pragma once
// Upstream TLS sessions reused across the pool: a connection the pool opens offers the session
// (the TLS 1.3 ticket) of the newest connection before it, so a reconnect to the same upstream
// skips the certificate chain, its verification and the upstream's signature. The context is made
// for one upstream host and verification setting, so its sessions are only ever offered to that
// host under the same checks (a resumed session keeps the verification result of the full one).
#include <openssl/ssl.h>

namespace dkr::upstream {

// On the upstream's client context, once: keeps the newest session the context has seen.
void enable_upstream_session_reuse(SSL_CTX* ctx);
// Before the handshake: offers the kept session, which is then used up (TLS 1.3 tickets are for one
// connection, RFC 8446 §4.6.1; the new connection gets its own).
void offer_upstream_session(SSL* ssl);

}  // namespace dkr::upstream
