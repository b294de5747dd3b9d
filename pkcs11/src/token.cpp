#include "token.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

namespace dkr::pkcs11 {

namespace {

std::string padded_label(const unsigned char* label, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(label), size);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\0')) text.pop_back();
  return text;
}

// This thread's sessions, one per token it has used (a relay has one token; tests may open more).
struct ThreadSession {
  std::uint64_t token = 0;
  std::uint64_t generation = 0;
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
};
thread_local std::vector<ThreadSession> thread_sessions;

ThreadSession& thread_session(std::uint64_t token) {
  for (auto& s : thread_sessions) {
    if (s.token == token) return s;
  }
  return thread_sessions.emplace_back(ThreadSession{token, 0, CK_INVALID_HANDLE});
}

}  // namespace

Result<std::shared_ptr<Token>> Token::open(const TokenSettings& settings, OpenFailure* failure) {
  OpenFailure ignored;
  if (failure == nullptr) failure = &ignored;
  *failure = OpenFailure::Module;
  auto module = Module::load(settings.module);
  if (!module) return module.error();
  *failure = OpenFailure::Other;
  std::shared_ptr<Token> token(new Token(settings));
  token->module_ = std::move(*module);
  {
    std::unique_lock lock(token->connection_mutex_);
    if (auto connected = token->connect(failure); !connected) {
      token->disconnect();
      return connected.error();
    }
  }
  token->watcher_ = std::thread([raw = token.get()] { raw->watch(); });
  return token;
}

Token::~Token() {
  {
    std::lock_guard guard(watch_mutex_);
    stopping_ = true;
  }
  watch_wake_.notify_all();
  if (watcher_.joinable()) watcher_.join();
  std::unique_lock lock(connection_mutex_);
  disconnect();
}

Result<void> Token::connect(OpenFailure* failure) {
  OpenFailure ignored;
  if (failure == nullptr) failure = &ignored;
  CK_FUNCTION_LIST* f = module_->functions();
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;
  CK_RV rv = f->C_Initialize(&args);
  if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
    return make_error(ErrorCode::unavailable, "C_Initialize of " + module_->path() + " failed: " + rv_text(rv));
  }
  initialized_ = true;
  CK_ULONG count = 0;
  rv = f->C_GetSlotList(CK_TRUE, nullptr, &count);
  std::vector<CK_SLOT_ID> slots(count);
  if (rv == CKR_OK && count > 0) rv = f->C_GetSlotList(CK_TRUE, slots.data(), &count);
  if (rv != CKR_OK) return make_error(ErrorCode::unavailable, "C_GetSlotList failed: " + rv_text(rv));
  slots.resize(count);
  bool found = false;
  std::vector<std::string> seen;
  for (CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO info{};
    if (f->C_GetTokenInfo(slot, &info) != CKR_OK) continue;
    std::string label = padded_label(info.label, sizeof info.label);
    if (label == settings_.token_label) {
      slot_ = slot;
      found = true;
      break;
    }
    seen.push_back("'" + label + "'");
  }
  if (!found) {
    *failure = OpenFailure::Token;
    std::string list;
    for (const auto& s : seen) list += (list.empty() ? "" : ", ") + s;
    return make_error(ErrorCode::not_found, "no token labelled '" + settings_.token_label + "' in " + module_->path() +
                                                " (tokens present: " + (list.empty() ? "none" : list) + ")");
  }
  rv = f->C_OpenSession(slot_, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &login_session_);
  if (rv != CKR_OK) return make_error(ErrorCode::unavailable, "C_OpenSession failed: " + rv_text(rv));
  rv = f->C_Login(login_session_, CKU_USER, reinterpret_cast<CK_UTF8CHAR*>(settings_.pin.data()), settings_.pin.size());
  if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_INVALID || rv == CKR_PIN_LEN_RANGE || rv == CKR_PIN_LOCKED ||
      rv == CKR_USER_PIN_NOT_INITIALIZED) {
    *failure = OpenFailure::Pin;
    return make_error(ErrorCode::invalid, "the token '" + settings_.token_label + "' refused the PIN: " + rv_text(rv));
  }
  if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
    return make_error(ErrorCode::unavailable, "C_Login failed: " + rv_text(rv));
  }
  CK_ULONG mechanism_count = 0;
  ed25519_ = false;
  if (f->C_GetMechanismList(slot_, nullptr, &mechanism_count) == CKR_OK) {
    // p11-kit's RPC client (0.24) counts the mechanisms it can forward but, asked for the list, first
    // copies every mechanism the server has into the buffer and only then drops the others: a buffer
    // of the counted size overflows (seen under ASan through p11-kit server). Give it room, and trust
    // only the count it returns.
    std::vector<CK_MECHANISM_TYPE> mechanisms(std::max<CK_ULONG>(mechanism_count * 4, 1024));
    mechanism_count = mechanisms.size();
    if (f->C_GetMechanismList(slot_, mechanisms.data(), &mechanism_count) == CKR_OK) {
      mechanisms.resize(std::min<std::size_t>(mechanism_count, mechanisms.size()));
      auto has = [&](CK_MECHANISM_TYPE m) {
        return std::find(mechanisms.begin(), mechanisms.end(), m) != mechanisms.end();
      };
      ed25519_ = has(CKM_EC_EDWARDS_KEY_PAIR_GEN) && has(CKM_EDDSA);
    }
  }
  generation_.fetch_add(1, std::memory_order_acq_rel);
  available_.store(true, std::memory_order_release);
  {
    std::lock_guard guard(problem_mutex_);
    problem_.clear();
  }
  return {};
}

void Token::disconnect() {
  available_.store(false, std::memory_order_release);
  if (initialized_) {
    // Closes every session (the login one and the threads'); their generation is then stale.
    (void)module_->functions()->C_Finalize(nullptr);
    initialized_ = false;
  }
  login_session_ = CK_INVALID_HANDLE;
}

void Token::lose(const std::string& problem) {
  bool was = available_.exchange(false, std::memory_order_acq_rel);
  {
    std::lock_guard guard(problem_mutex_);
    problem_ = problem;
  }
  if (was) {
    spdlog::error("pkcs11: token '{}' lost: {}; signing is unavailable until it is back", settings_.token_label,
                  problem);
    watch_wake_.notify_all();
  }
}

std::string Token::last_problem() const {
  std::lock_guard guard(problem_mutex_);
  return problem_;
}

Result<void> Token::call(std::string_view what, const std::function<CK_RV(const SessionUse&)>& op) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!available()) {
      return make_error(ErrorCode::unavailable,
                        "PKCS#11 token '" + settings_.token_label + "' unavailable: " + last_problem());
    }
    std::shared_lock lock(connection_mutex_);
    if (!available()) continue;
    CK_FUNCTION_LIST* f = module_->functions();
    const std::uint64_t generation = generation_.load(std::memory_order_acquire);
    ThreadSession& mine = thread_session(id_);
    if (mine.generation != generation || mine.session == CK_INVALID_HANDLE) {
      CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
      CK_RV rv = f->C_OpenSession(slot_, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &session);
      if (rv != CKR_OK) {
        lock.unlock();
        if (connection_lost(rv)) lose("C_OpenSession: " + rv_text(rv));
        return make_error(connection_lost(rv) ? ErrorCode::unavailable : ErrorCode::internal,
                          "C_OpenSession on token '" + settings_.token_label + "' failed: " + rv_text(rv));
      }
      mine = ThreadSession{id_, generation, session};
    }
    const CK_RV rv = op(SessionUse{f, mine.session, generation});
    if (rv == CKR_OK) return {};
    if (rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED) {
      mine.session = CK_INVALID_HANDLE;  // reopen once; a second failure means the token is gone
      if (attempt == 0) continue;
    }
    if (connection_lost(rv)) {
      lock.unlock();
      lose(std::string(what) + ": " + rv_text(rv));
      return make_error(ErrorCode::unavailable,
                        std::string(what) + " on token '" + settings_.token_label + "' failed: " + rv_text(rv));
    }
    return make_error(ErrorCode::internal,
                      std::string(what) + " on token '" + settings_.token_label + "' failed: " + rv_text(rv));
  }
  return make_error(ErrorCode::unavailable, "PKCS#11 token '" + settings_.token_label + "' unavailable");
}

void Token::watch() {
  std::unique_lock wait_lock(watch_mutex_);
  while (!stopping_) {
    watch_wake_.wait_for(wait_lock, std::chrono::milliseconds(settings_.health_interval_ms));
    if (stopping_) break;
    wait_lock.unlock();
    if (available()) {
      // Polled so that /readyz and signing learn of a lost token even while no mail flows.
      CK_SESSION_INFO info{};
      CK_RV rv = CKR_OK;
      {
        std::shared_lock lock(connection_mutex_);
        if (available()) rv = module_->functions()->C_GetSessionInfo(login_session_, &info);
      }
      if (rv != CKR_OK) {
        lose("C_GetSessionInfo: " + rv_text(rv));
      } else if (info.state != CKS_RW_USER_FUNCTIONS && info.state != CKS_RO_USER_FUNCTIONS && available()) {
        lose("the token is no longer logged in");
      }
    }
    if (!available()) {
      std::unique_lock lock(connection_mutex_);
      disconnect();
      // A fresh load of the module: p11-kit-client.so, once its server is gone, finds no slots
      // again after C_Finalize/C_Initialize alone (p11-kit 0.24); a new dlopen reconnects.
      module_.reset();
      auto reloaded = Module::load(settings_.module);
      Result<void> connected = reloaded ? Result<void>{} : Result<void>(reloaded.error());
      if (reloaded) {
        module_ = std::move(*reloaded);
        connected = connect();
      }
      if (connected) {
        spdlog::info("pkcs11: token '{}' is back; signing resumes", settings_.token_label);
      } else {
        {
          std::lock_guard guard(problem_mutex_);
          problem_ = connected.error().message;
        }
        available_.store(false, std::memory_order_release);
      }
    }
    wait_lock.lock();
  }
}

}  // namespace dkr::pkcs11
