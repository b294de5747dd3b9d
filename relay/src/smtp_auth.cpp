#include "smtp_auth.hpp"

#include <boost/asio/post.hpp>
#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include "relay/password_hash.hpp"
#include "signer/body_hasher.hpp"
#include "smtp_session.hpp"
#include "common/ascii.hpp"

namespace dkr::relay {

namespace asio = boost::asio;

AuthCommand parse_auth_command(std::string_view argument) {
  auto space = argument.find(' ');
  AuthCommand command;
  command.mechanism = uppercase(argument.substr(0, space));
  if (space != std::string_view::npos) command.initial = argument.substr(space + 1);
  return command;
}

std::optional<PlainCredentials> split_plain_response(std::string& decoded) {
  auto first = decoded.find('\0');
  auto second = first == std::string::npos ? std::string::npos : decoded.find('\0', first + 1);
  std::optional<PlainCredentials> credentials;
  if (second != std::string::npos && decoded.find('\0', second + 1) == std::string::npos) {
    credentials.emplace();
    credentials->authzid = decoded.substr(0, first);
    credentials->user = decoded.substr(first + 1, second - first - 1);
    credentials->password = decoded.substr(second + 1);
  }
  OPENSSL_cleanse(decoded.data(), decoded.size());
  return credentials;
}

// ---- AUTH (RFC 4954; PLAIN RFC 4616; LOGIN draft-murchison-sasl-login) -------------------------

bool SmtpSession::auth_offered() const {
  return !settings_.auth_users.empty() && (stream_.tls() || settings_.allow_auth_without_tls);
}

SmtpSession::Step SmtpSession::on_auth(const SmtpCommand& command) {
  if (settings_.auth_users.empty()) {
    reply(502, "5.5.1", "AUTH not available");
    count_bad_command();
    return Step::Continue;
  }
  if (!auth_offered()) {
    reply(538, "5.7.11", "Encryption required for requested authentication mechanism");
    count_bad_command();
    return Step::Continue;
  }
  if (auth_user_) {
    reply(503, "5.5.1", "Already authenticated");
    count_bad_command();
    return Step::Continue;
  }
  if (txn_) {
    reply(503, "5.5.1", "AUTH not permitted during a mail transaction");
    count_bad_command();
    return Step::Continue;
  }
  const auto [mechanism, initial] = parse_auth_command(command.argument);
  if (mechanism == "PLAIN") {
    if (initial.empty()) {
      phase_ = Phase::AuthPlain;
      reply(334, "", "");
      return Step::Continue;
    }
    phase_ = Phase::AuthPlain;
    return auth_line(initial == "=" ? std::string_view{} : initial);
  }
  if (mechanism == "LOGIN") {
    if (initial.empty()) {
      phase_ = Phase::AuthLoginUser;
      reply(334, "", "VXNlcm5hbWU6");  // "Username:"
      return Step::Continue;
    }
    phase_ = Phase::AuthLoginUser;
    return auth_line(initial);
  }
  reply(504, "5.5.4", "Unrecognized authentication type");
  count_bad_command();
  return Step::Continue;
}

SmtpSession::Step SmtpSession::auth_line(std::string_view line) {
  Phase phase = phase_;
  phase_ = Phase::Command;
  if (line == "*") {
    auth_pending_user_.clear();
    reply(501, "5.7.0", "Authentication cancelled");
    return Step::Continue;
  }
  auto decoded = signer::base64_decode(line);
  if (!decoded) {
    auth_pending_user_.clear();
    reply(501, "5.5.2", "Invalid base64 data");
    count_bad_command();
    return Step::Continue;
  }
  if (phase == Phase::AuthLoginUser) {
    auth_pending_user_ = std::move(*decoded);
    phase_ = Phase::AuthLoginPassword;
    reply(334, "", "UGFzc3dvcmQ6");  // "Password:"
    return Step::Continue;
  }
  if (phase == Phase::AuthLoginPassword) {
    auto user = std::move(auth_pending_user_);
    auth_pending_user_.clear();
    return check_credentials(std::move(user), "", std::move(*decoded));
  }
  auto plain = split_plain_response(*decoded);
  if (!plain) {
    reply(501, "5.5.2", "Invalid PLAIN response");
    count_bad_command();
    return Step::Continue;
  }
  return check_credentials(std::move(plain->user), std::move(plain->authzid), std::move(plain->password));
}

SmtpSession::Step SmtpSession::check_credentials(std::string user, std::string authzid, std::string password) {
  const AuthUser* found = nullptr;
  for (const auto& candidate : settings_.auth_users) {
    if (candidate.name == user) found = &candidate;
  }
  // An unknown user costs the same PBKDF2 run as a known one, so timing does not tell names apart.
  std::string hash = found ? found->password_hash : settings_.auth_users.front().password_hash;
  bool identity_ok = found && (authzid.empty() || authzid == user);
  const std::string user_for_backoff = user;
  auto check = [self = shared_from_this(), user = std::move(user), password = std::move(password),
                hash = std::move(hash), identity_ok]() mutable {
    bool ok = verify_password(password, hash) && identity_ok;
    OPENSSL_cleanse(password.data(), password.size());
    asio::post(self->stream_.socket().get_executor(), [self, ok, user = std::move(user)]() mutable {
      if (self->closed_) return;
      AuthFailureBackoff& backoff = self->context_->auth_backoff;
      if (ok) {
        backoff.succeeded(self->remote_text_, user);
        self->auth_user_ = std::move(user);
        self->reply(235, "2.7.0", "Authentication successful");
        self->advance();
        return;
      }
      // The back-off delays the answer to a failed check, never a check: a correct password is
      // answered after its one PBKDF2 run, whatever others failed from the same address.
      const auto delay = backoff.delay_for(self->remote_text_, user);
      const std::uint32_t failures = backoff.failed(self->remote_text_, user);
      if (delay.count() == 0) {
        self->auth_failed(failures);
        self->advance();
        return;
      }
      self->auth_delay_.expires_after(delay);
      self->auth_delay_.async_wait([self, failures](boost::system::error_code ec) {
        if (ec || self->closed_) return;
        self->auth_failed(failures);
        self->advance();
      });
    });
  };
  // The bounded pool checks strangers and addresses that only failed after those that logged in.
  const auto standing = context_->auth_backoff.standing(remote_text_);
  if (!context_->auth_pool || !context_->auth_pool->try_post(std::move(check), standing)) {
    // A full pool answers 454 without a check; a user that failed from this address waits its
    // back-off for that answer too, or a flood of attempts would cost round trips without end.
    // An address with failures and no success waits at least a second, whatever user name it tries.
    auto delay = context_->auth_backoff.delay_for(remote_text_, user_for_backoff);
    if (standing == AuthWorkerPool::Standing::Suspect) delay = std::max(delay, std::chrono::milliseconds(1000));
    if (delay.count() == 0) {
      reply(454, "4.7.0", "Temporary authentication failure");
      return Step::Continue;
    }
    auth_delay_.expires_after(delay);
    auth_delay_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->closed_) return;
      self->reply(454, "4.7.0", "Temporary authentication failure");
      self->advance();
    });
  }
  return Step::Pending;
}

void SmtpSession::auth_failed(std::uint32_t failures) {
  spdlog::info("smtp session={} client={} authentication failed", id_text_, remote_text_);
  if (failures > settings_.max_bad_commands) {
    reply(421, "4.7.0", context_->hostname + " Too many authentication failures from your address, closing connection");
    phase_ = Phase::Closing;
    return;
  }
  reply(535, "5.7.8", "Authentication credentials invalid");
  count_bad_command();
}

}  // namespace dkr::relay
