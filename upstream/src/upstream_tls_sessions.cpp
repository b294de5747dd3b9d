#include "upstream_tls_sessions.hpp"

#include <mutex>

namespace dkr::upstream {

namespace {

struct KeptSession {
  std::mutex mutex;
  SSL_SESSION* session = nullptr;
  ~KeptSession() { SSL_SESSION_free(session); }
};

int ex_index() {
  static const int index = SSL_CTX_get_ex_new_index(
      0, nullptr, nullptr, nullptr,
      [](void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) { delete static_cast<KeptSession*>(ptr); });
  return index;
}

KeptSession* kept(SSL_CTX* ctx) { return static_cast<KeptSession*>(SSL_CTX_get_ex_data(ctx, ex_index())); }

// A copy is kept, not the connection's own session: a connection closed without close_notify
// (UpstreamConnection::close) marks its session not resumable when it is freed.
int on_new_session(SSL* ssl, SSL_SESSION* session) {
  KeptSession* slot = kept(SSL_get_SSL_CTX(ssl));
  if (slot == nullptr || SSL_SESSION_is_resumable(session) != 1) return 0;
  SSL_SESSION* copy = SSL_SESSION_dup(session);
  if (copy == nullptr) return 0;
  std::lock_guard lock(slot->mutex);
  SSL_SESSION_free(slot->session);
  slot->session = copy;
  return 0;  // OpenSSL keeps (and frees) its own reference
}

}  // namespace

void enable_upstream_session_reuse(SSL_CTX* ctx) {
  if (kept(ctx) != nullptr) return;
  auto* slot = new KeptSession;
  if (SSL_CTX_set_ex_data(ctx, ex_index(), slot) != 1) {
    delete slot;
    return;
  }
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, on_new_session);
}

void offer_upstream_session(SSL* ssl) {
  KeptSession* slot = kept(SSL_get_SSL_CTX(ssl));
  if (slot == nullptr) return;
  SSL_SESSION* session = nullptr;
  {
    std::lock_guard lock(slot->mutex);
    session = slot->session;
    slot->session = nullptr;
  }
  if (session == nullptr) return;
  SSL_set_session(ssl, session);  // takes its own reference
  SSL_SESSION_free(session);
}

}  // namespace dkr::upstream
