#pragma once
// One logged-in token of one module: a session per thread, and a watcher that notices a lost token
// (module errors, `p11-kit server` gone, token removed) and reconnects (C_Finalize, C_Initialize,
// find the token by label, C_Login) until it is back. Every connection has a generation number;
// sessions and object handles of an older generation are never used again.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>

#include "module.hpp"
#include "pkcs11/pkcs11_vault.hpp"

namespace dkr::pkcs11 {

struct SessionUse {
  CK_FUNCTION_LIST* f;
  CK_SESSION_HANDLE session;
  std::uint64_t generation;  // of the connection: object handles found in another one are stale
};

class Token {
 public:
  // Connects once (errors name module, token or PIN, see Pkcs11Vault::connect) and starts the watcher.
  static Result<std::shared_ptr<Token>> open(const TokenSettings& settings, OpenFailure* failure);
  ~Token();
  Token(const Token&) = delete;
  Token& operator=(const Token&) = delete;

  // Runs `op` with this thread's session. A session found invalid is replaced and `op` tried once
  // more; a lost connection marks the token unavailable (the watcher reconnects) and is returned as
  // ErrorCode::unavailable. Other failures: ErrorCode::internal with `what` and the CKR name.
  Result<void> call(std::string_view what, const std::function<CK_RV(const SessionUse&)>& op);

  bool available() const { return available_.load(std::memory_order_acquire); }
  std::string last_problem() const;
  bool supports_ed25519() const { return ed25519_; }
  const std::string& label() const { return settings_.token_label; }
  const TokenSettings& settings() const { return settings_; }

 private:
  explicit Token(TokenSettings settings) : settings_(std::move(settings)) {}
  // Under the exclusive lock: C_Initialize, find the slot, log in. Sets the error's code as open() documents.
  Result<void> connect(OpenFailure* failure = nullptr);
  void disconnect();
  void lose(const std::string& problem);
  void watch();

  TokenSettings settings_;
  std::unique_ptr<Module> module_;
  const std::uint64_t id_ = next_id_.fetch_add(1);
  static inline std::atomic<std::uint64_t> next_id_{1};

  std::shared_mutex connection_mutex_;  // shared: calls; exclusive: (re)connecting
  CK_SLOT_ID slot_ = 0;
  CK_SESSION_HANDLE login_session_ = CK_INVALID_HANDLE;  // keeps the login alive and is polled
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<bool> available_{false};
  bool initialized_ = false;
  bool ed25519_ = false;

  mutable std::mutex problem_mutex_;
  std::string problem_;

  std::mutex watch_mutex_;
  std::condition_variable watch_wake_;
  bool stopping_ = false;
  std::thread watcher_;
};

}  // namespace dkr::pkcs11
