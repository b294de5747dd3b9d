#include "smtp_session.hpp"

#include <algorithm>
#include <ctime>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include "relay/mail_auth_parameter.hpp"
#include "relay/password_hash.hpp"
#include "relay/signing_authorization.hpp"
#include "signer/body_hasher.hpp"
#include "stress_mode.hpp"

namespace dkr::relay {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

bool is_2xx(const SmtpReply& reply) { return reply.code >= 200 && reply.code < 300; }

TransactionResult result_of(const SmtpReply& reply) {
  if (is_2xx(reply)) return TransactionResult::Accepted;
  if (reply.transient()) return TransactionResult::Tempfailed;
  return TransactionResult::Rejected;
}

// The client's HELO name and our host name go into the Received field: keep them to characters that
// cannot break the field's syntax.
std::string sanitized(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 255)) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
              c == '_' || c == ':' || c == '[' || c == ']';
    out += ok ? c : '_';
  }
  return out.empty() ? "unknown" : out;
}

std::string rfc5322_date() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buffer;
}

double milliseconds(std::chrono::nanoseconds duration) { return static_cast<double>(duration.count()) / 1e6; }

}  // namespace

SmtpSession::SmtpSession(std::shared_ptr<SessionContext> context, asio::ip::tcp::socket socket, std::uint64_t id)
    : context_(std::move(context)),
      settings_(context_->settings),
      stream_(std::move(socket)),
      timer_(stream_.socket().get_executor()),
      auth_delay_(stream_.socket().get_executor()),
      id_(id),
      admitted_(false) {
  boost::system::error_code ec;
  auto endpoint = stream_.socket().remote_endpoint(ec);
  if (!ec) remote_ = endpoint.address();
  if (remote_.is_v6() && remote_.to_v6().is_v4_mapped()) {
    remote_ = asio::ip::make_address_v4(asio::ip::v4_mapped, remote_.to_v6());
  }
  remote_text_ = remote_.to_string();
  char text[32];
  std::snprintf(text, sizeof text, "%012llx", static_cast<unsigned long long>(id_));
  id_text_ = text;
  admitted_ = admit_connection(*context_, remote_);
  context_->metrics.connection_opened();
}

SmtpSession::~SmtpSession() {
  if (txn_ && txn_->upstream) txn_->upstream->abort();
  context_->connections.untrack(id_);
  if (admitted_) release_connection(*context_, remote_);
  context_->metrics.connection_closed();
}

void SmtpSession::start() {
  context_->connections.track(id_, weak_from_this());
  if (!admitted_) {
    reply(421, "4.7.0", context_->hostname + " Too many connections, try again later");
    phase_ = Phase::Closing;
  } else {
    reply(220, "", context_->hostname + " ESMTP dkim-relay");
  }
  asio::dispatch(stream_.socket().get_executor(), [self = shared_from_this()] { self->advance(); });
}

void SmtpSession::request_shutdown() {
  asio::post(stream_.socket().get_executor(), [self = shared_from_this()] {
    self->shutdown_requested_ = true;
    // A session waiting for the next command outside a transaction is interrupted now; one in a
    // transaction gets its 421 once the transaction is over.
    if (self->reading_ && !self->txn_ && self->phase_ == Phase::Command) self->stream_.cancel();
  });
}

void SmtpSession::close() {
  asio::post(stream_.socket().get_executor(), [self = shared_from_this()] { self->close_now(); });
}

void SmtpSession::close_now() {
  if (closed_) return;
  closed_ = true;
  disarm_timer();
  auth_delay_.cancel();
  if (txn_) end_transaction(TransactionResult::Aborted);
  stream_.close();
}

// ---- the driver -------------------------------------------------------------------------------

void SmtpSession::advance() {
  if (closed_) return;
  auto self = shared_from_this();
  while (true) {
    if (phase_ == Phase::Closing) {
      if (out_.empty())
        close_now();
      else
        write_out([self] { self->close_now(); });
      return;
    }
    switch (step()) {
      case Step::Continue:
        continue;
      case Step::Pending:
        return;
      case Step::Flush:
        if (out_.empty()) continue;
        write_out([self] { self->advance(); });
        return;
      case Step::NeedInput:
        if (out_.empty())
          read_more();
        else
          write_out([self] { self->advance(); });
        return;
    }
  }
}

SmtpSession::Step SmtpSession::step() {
  if (shutdown_requested_ && !txn_ && phase_ == Phase::Command) {
    reply(421, "4.3.2", context_->hostname + " Service shutting down, try again later");
    phase_ = Phase::Closing;
    return Step::Continue;
  }
  if (phase_ == Phase::Data) {
    auto used = txn_->reader->feed(in_, *txn_->message);
    in_.erase(0, used);
    if (!txn_->reader->done()) return Step::NeedInput;
    return finish_data();
  }
  auto lf = in_.find('\n');
  if (lf == std::string::npos) {
    if (in_.size() >= settings_.max_command_line) {  // cannot end within the limit any more
      if (!discarding_long_line_) {
        discarding_long_line_ = true;
        reply(500, "5.5.2", "Line too long");
        count_bad_command();
      }
      in_.clear();
      if (phase_ == Phase::Closing) return Step::Continue;
    }
    return Step::NeedInput;
  }
  std::string line = in_.substr(0, lf);
  in_.erase(0, lf + 1);
  line_started_.reset();        // a whole line arrived: the next one gets a fresh timeout
  if (discarding_long_line_) {  // the tail of a line already answered
    discarding_long_line_ = false;
    return Step::Continue;
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.size() + 2 > settings_.max_command_line) {
    reply(500, "5.5.2", "Line too long");
    count_bad_command();
    return Step::Continue;
  }
  return process_line(line);
}

SmtpSession::Step SmtpSession::process_line(std::string_view line) {
  if (phase_ == Phase::AuthPlain || phase_ == Phase::AuthLoginUser || phase_ == Phase::AuthLoginPassword) {
    return auth_line(line);
  }
  auto parsed = parse_command(line);
  if (auto* error = std::get_if<SmtpReply>(&parsed)) {
    reply(std::move(*error));
    count_bad_command();
    return Step::Continue;
  }
  return dispatch(std::get<SmtpCommand>(parsed));
}

SmtpSession::Step SmtpSession::dispatch(const SmtpCommand& command) {
  static constexpr std::array<std::pair<Verb, Handler>, 13> kHandlers{{
      {Verb::Helo, &SmtpSession::on_helo},
      {Verb::Ehlo, &SmtpSession::on_ehlo},
      {Verb::Mail, &SmtpSession::on_mail},
      {Verb::Rcpt, &SmtpSession::on_rcpt},
      {Verb::Data, &SmtpSession::on_data},
      {Verb::Rset, &SmtpSession::on_rset},
      {Verb::Noop, &SmtpSession::on_noop},
      {Verb::Quit, &SmtpSession::on_quit},
      {Verb::Help, &SmtpSession::on_help},
      {Verb::Vrfy, &SmtpSession::on_vrfy},
      {Verb::Expn, &SmtpSession::on_expn},
      {Verb::StartTls, &SmtpSession::on_starttls},
      {Verb::Auth, &SmtpSession::on_auth},
  }};
  for (const auto& [verb, handler] : kHandlers) {
    if (verb == command.verb) return (this->*handler)(command);
  }
  reply(500, "5.5.1", "Command unrecognized");
  return Step::Continue;
}

void SmtpSession::read_more() {
  wait_started_ = Clock::now();
  if (phase_ == Phase::Data)
    line_started_.reset();
  else if (!line_started_)
    line_started_ = wait_started_;
  arm_read_timer();
  reading_ = true;
  stream_.async_read_some(asio::buffer(read_buffer_),
                          [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                            self->reading_ = false;
                            self->stalled_since_ = 0;
                            self->disarm_timer();
                            if (self->closed_) return;
                            if (ec) {
                              if (self->timed_out_) {
                                self->reply(421, "4.4.2", self->context_->hostname + " Timeout, closing connection");
                                self->phase_ = Phase::Closing;
                                self->advance();
                              } else if (ec == asio::error::operation_aborted && self->shutdown_requested_) {
                                self->advance();  // step() answers 421 4.3.2
                              } else {
                                self->close_now();  // the client went away
                              }
                              return;
                            }
                            self->timed_out_ = false;
                            if (self->phase_ == Phase::Data) self->data_received_ += n;
                            self->in_.append(self->read_buffer_.data(), n);
                            self->advance();
                          });
}

Clock::time_point SmtpSession::read_deadline() const {
  const bool stress = context_->stress.active();
  if (phase_ == Phase::Data) {
    // RFC 5321 §4.5.3.2.6: inside DATA the timeout applies to each block received; on top, the
    // whole transfer must keep up min_data_rate (a block now and then must not hold the slot).
    // Under stress the allowance on top of the rate is the short timeout: the rate counts from
    // DATA's first byte.
    const auto block =
        stress ? std::min(settings_.stress_data_timeout, settings_.data_timeout) : settings_.data_timeout;
    auto deadline = wait_started_ + block;
    if (settings_.min_data_rate > 0) {
      const auto earned = std::chrono::milliseconds(data_received_ * 1000 / settings_.min_data_rate);
      deadline = std::min(deadline, data_started_ + block + earned);
    }
    return deadline;
  }
  const bool in_command = txn_ || phase_ != Phase::Command;
  // Stress shortens a timeout, never lengthens one configured shorter.
  const auto normal = in_command ? settings_.command_timeout : settings_.idle_timeout;
  const auto timeout =
      stress ? std::min(normal, in_command ? settings_.stress_command_timeout : settings_.stress_idle_timeout) : normal;
  return *line_started_ + timeout;
}

void SmtpSession::arm_read_timer() {
  const auto now = Clock::now();
  // DATA keeping up min_data_rate is never stalled: its "since" lies ahead.
  Clock::time_point stalled = wait_started_;
  if (phase_ != Phase::Data)
    stalled = *line_started_;
  else if (settings_.min_data_rate > 0)
    stalled = data_started_ + std::chrono::milliseconds(data_received_ * 1000 / settings_.min_data_rate);
  stalled_since_ = stalled.time_since_epoch().count();
  arm_timer(std::max(std::chrono::milliseconds(0),
                     std::chrono::duration_cast<std::chrono::milliseconds>(read_deadline() - now)),
            true);
}

void SmtpSession::stress_changed() {
  asio::post(stream_.socket().get_executor(), [self = shared_from_this()] {
    if (self->reading_ && !self->closed_ && !self->timed_out_) self->arm_read_timer();
  });
}

std::optional<Clock::time_point> SmtpSession::stalled_since() const {
  const auto ticks = stalled_since_.load();
  if (ticks == 0) return std::nullopt;
  return Clock::time_point(Clock::duration(ticks));
}

bool SmtpSession::evict() {
  if (evicting_.exchange(true)) return false;
  asio::post(stream_.socket().get_executor(), [self = shared_from_this()] {
    // Only if it is still waiting for the client: one that sent something meanwhile is not stalled.
    if (self->reading_ && !self->closed_ && !self->timed_out_) {
      spdlog::info("smtp session={} client={} closed in stress mode to make room: stalled", self->id_text_,
                   self->remote_text_);
      self->on_timeout();
    } else {
      self->evicting_ = false;
    }
  });
  return true;
}

void SmtpSession::write_out(std::function<void()> next) {
  writing_ = std::move(out_);
  out_.clear();
  arm_timer(settings_.command_timeout, false);
  stream_.async_write(asio::buffer(writing_),
                      [self = shared_from_this(), next = std::move(next)](boost::system::error_code ec, std::size_t) {
                        self->disarm_timer();
                        if (self->closed_) return;
                        if (ec) {
                          self->close_now();
                          return;
                        }
                        next();
                      });
}

void SmtpSession::arm_timer(std::chrono::milliseconds timeout, bool on_read) {
  auto generation = ++timer_generation_;
  timer_on_read_ = on_read;
  timer_.expires_after(timeout);
  timer_.async_wait([self = shared_from_this(), generation](boost::system::error_code ec) {
    if (ec || generation != self->timer_generation_ || self->closed_) return;
    self->on_timeout();
  });
}

void SmtpSession::disarm_timer() {
  ++timer_generation_;
  timer_.cancel();
}

void SmtpSession::on_timeout() {
  timed_out_ = true;
  // A client that does not read our replies gets no further chance; one that does not send gets 421.
  if (timer_on_read_)
    stream_.cancel();
  else
    close_now();
}

// ---- replies ----------------------------------------------------------------------------------

void SmtpSession::reply(SmtpReply r) { out_ += r.wire(); }

void SmtpSession::reply(int code, std::string enhanced, std::string text) {
  reply(make_reply(code, std::move(enhanced), std::move(text)));
}

bool SmtpSession::count_bad_command() {
  if (++bad_commands_ <= settings_.max_bad_commands) return false;
  reply(421, "4.7.0", context_->hostname + " Too many errors, closing connection");
  phase_ = Phase::Closing;
  return true;
}

SmtpReply SmtpSession::checked(SmtpReply r) {
  if (r.code < 200 || r.code > 599 || (r.code >= 300 && r.code < 400)) {
    return make_reply(451, "4.4.2", "Upstream connection problem, try again later");
  }
  // The upstream closing its channel is not ours closing the client's (RFC 5321 §3.8: a 421 obliges
  // the client to drop the connection): the transaction failed, the session goes on.
  if (r.code == 421) return make_reply(451, "4.4.1", "Upstream not available, try again later");
  return r;
}

// ---- commands ---------------------------------------------------------------------------------

SmtpSession::Step SmtpSession::on_helo(const SmtpCommand& command) {
  if (txn_) end_transaction(TransactionResult::Aborted);
  helo_ = command.argument;
  esmtp_ = false;
  reply(250, "", context_->hostname);
  return Step::Continue;
}

SmtpSession::Step SmtpSession::on_ehlo(const SmtpCommand& command) {
  if (txn_) end_transaction(TransactionResult::Aborted);
  helo_ = command.argument;
  esmtp_ = true;
  SmtpReply r;
  r.code = 250;
  r.lines.push_back(context_->hostname + " greets " + sanitized(helo_));
  r.lines.push_back("SIZE " + std::to_string(settings_.max_message_size));
  r.lines.push_back("8BITMIME");
  r.lines.push_back("PIPELINING");
  r.lines.push_back("ENHANCEDSTATUSCODES");
  if (context_->tls && !stream_.tls()) r.lines.push_back("STARTTLS");
  if (auth_offered()) r.lines.push_back("AUTH PLAIN LOGIN");
  if (context_->upstream->offers_smtputf8()) r.lines.push_back("SMTPUTF8");
  r.lines.push_back("HELP");
  reply(std::move(r));
  return Step::Continue;
}

SmtpSession::Step SmtpSession::on_mail(const SmtpCommand& command) {
  if (helo_.empty()) {
    reply(503, "5.5.1", "Send EHLO or HELO first");
    count_bad_command();
    return Step::Continue;
  }
  if (txn_) {
    reply(503, "5.5.1", "Nested MAIL command");
    count_bad_command();
    return Step::Continue;
  }
  if (settings_.require_auth && !auth_user_) {
    reply(530, "5.7.0", "Authentication required");
    count_bad_command();
    return Step::Continue;
  }
  if (messages_ >= settings_.max_messages_per_connection) {
    reply(421, "4.7.0", context_->hostname + " Too many messages on this connection, reconnect");
    phase_ = Phase::Closing;
    return Step::Continue;
  }
  if (command.mail.size && *command.mail.size > settings_.max_message_size) {
    reply(552, "5.3.4", "Message size exceeds fixed maximum message size");
    return Step::Continue;
  }
  if (command.mail.smtputf8 && !context_->upstream->offers_smtputf8()) {
    reply(555, "5.5.4", "SMTPUTF8 is not supported");
    return Step::Continue;
  }
  if (command.non_ascii_address && !command.mail.smtputf8) {
    reply(553, "5.6.7", "Non-ASCII address requires SMTPUTF8");
    return Step::Continue;
  }
  txn_.emplace();
  txn_->number = ++transaction_counter_;
  txn_->mail_args = upstream_mail_arguments(command, auth_user_);
  txn_->mail = command.mail;
  reply(250, "2.1.0", "Sender OK");
  return Step::Continue;
}

bool SmtpSession::relay_allowed() const {
  if (auth_user_) return true;
  for (const auto& range : settings_.allowed_networks) {
    if (range.contains(remote_)) return true;
  }
  return false;
}

SmtpSession::Step SmtpSession::on_rcpt(const SmtpCommand& command) {
  if (!txn_) {
    reply(503, "5.5.1", "Need MAIL command first");
    count_bad_command();
    return Step::Continue;
  }
  if (!relay_allowed()) {
    reply(550, "5.7.1", "Relaying denied");
    count_bad_command();
    return Step::Continue;
  }
  if (txn_->rcpt_attempts >= settings_.max_recipients) {
    reply(452, "4.5.3", "Too many recipients");
    return Step::Continue;
  }
  if (command.non_ascii_address && !txn_->mail.smtputf8) {
    reply(553, "5.6.7", "Non-ASCII address requires SMTPUTF8");
    return Step::Continue;
  }
  ++txn_->rcpt_attempts;
  if (txn_->upstream) {
    send_rcpt(command.argument);
    return Step::Pending;
  }
  // First recipient: open the upstream transaction and pass MAIL on. A refusal of MAIL is the
  // answer to this RCPT; the next RCPT tries again.
  auto number = txn_->number;
  context_->upstream->begin(
      stream_.socket().get_executor(), [self = shared_from_this(), number, args = command.argument](
                                           std::unique_ptr<UpstreamTransaction> upstream, SmtpReply failure) mutable {
        if (self->closed_ || !self->txn_ || self->txn_->number != number) {
          if (upstream) upstream->abort();
          return;
        }
        if (!upstream) {
          self->context_->metrics.upstream_reply(failure.code);
          // Without a transaction only a refusal makes sense, whatever the upstream said.
          bool refusal = failure.code >= 400 && failure.code < 600;
          self->reply(refusal ? checked(std::move(failure))
                              : make_reply(451, "4.4.1", "Upstream unavailable, try again later"));
          self->advance();
          return;
        }
        self->txn_->upstream = std::move(upstream);
        // MAIL and RCPT go out together (one write when the upstream pipelines); replies come back
        // in order, so the RCPT handler knows whether MAIL was refused and then answers with that.
        self->txn_->upstream->mail_from(self->txn_->mail_args, [self, number](SmtpReply r) {
          if (self->closed_ || !self->txn_ || self->txn_->number != number) return;
          if (!is_2xx(r)) self->txn_->mail_refusal = std::move(r);
        });
        self->send_rcpt(std::move(args));
      });
  return Step::Pending;
}

void SmtpSession::send_rcpt(std::string args) {
  auto number = txn_->number;
  txn_->upstream->rcpt_to(std::move(args), [self = shared_from_this(), number](SmtpReply r) {
    if (self->closed_ || !self->txn_ || self->txn_->number != number) return;
    if (self->txn_->mail_refusal) {
      // The upstream's RCPT reply is moot then (503 or a dropped connection); the next RCPT retries.
      SmtpReply refusal = std::move(*self->txn_->mail_refusal);
      self->txn_->mail_refusal.reset();
      self->txn_->upstream->abort();
      self->txn_->upstream.reset();
      self->reply(checked(std::move(refusal)));
      self->advance();
      return;
    }
    r = checked(std::move(r));
    if (is_2xx(r)) ++self->txn_->recipients;
    self->reply(std::move(r));
    self->advance();
  });
}

SmtpSession::Step SmtpSession::on_data(const SmtpCommand&) {
  if (!txn_) {
    reply(503, "5.5.1", "Need MAIL command first");
    count_bad_command();
    return Step::Continue;
  }
  if (txn_->recipients == 0) {
    reply(554, "5.5.1", "No valid recipients");  // RFC 2920 §3.1 / RFC 5321 §3.3
    return Step::Continue;
  }
  DataLimits limits;
  limits.max_size = settings_.max_message_size;
  limits.max_line = settings_.max_text_line;
  limits.normalize_bare_line_endings = settings_.bare_line_endings == BareLineEndings::Normalize;
  txn_->reader.emplace(limits);
  auto scope = signing_scope(settings_, auth_user_, remote_);
  txn_->signing_rule = scope.rule;
  txn_->message.emplace(settings_, *context_->keys, std::move(scope));
  reply(354, "", "Start mail input; end with <CRLF>.<CRLF>");
  phase_ = Phase::Data;
  data_started_ = std::chrono::steady_clock::now();
  data_received_ = 0;
  return Step::Flush;
}

SmtpSession::Step SmtpSession::on_rset(const SmtpCommand&) {
  if (txn_) end_transaction(TransactionResult::Aborted);
  reply(250, "2.0.0", "OK");
  return Step::Continue;
}

SmtpSession::Step SmtpSession::on_noop(const SmtpCommand&) {
  reply(250, "2.0.0", "OK");
  return Step::Continue;
}

SmtpSession::Step SmtpSession::on_quit(const SmtpCommand&) {
  if (txn_) end_transaction(TransactionResult::Aborted);
  reply(221, "2.0.0", context_->hostname + " closing connection");
  phase_ = Phase::Closing;
  return Step::Continue;
}

SmtpSession::Step SmtpSession::on_help(const SmtpCommand&) {
  reply(214, "2.0.0", "EHLO HELO MAIL RCPT DATA RSET NOOP QUIT HELP VRFY STARTTLS AUTH; see RFC 5321");
  return Step::Continue;
}

SmtpSession::Step SmtpSession::on_vrfy(const SmtpCommand&) {
  reply(252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery");
  return Step::Continue;
}

SmtpSession::Step SmtpSession::on_expn(const SmtpCommand&) {
  reply(502, "5.5.1", "EXPN not supported");
  return Step::Continue;
}

SmtpSession::Step SmtpSession::on_starttls(const SmtpCommand&) {
  if (!context_->tls) {
    reply(502, "5.5.1", "STARTTLS not available");
    count_bad_command();
    return Step::Continue;
  }
  if (stream_.tls()) {
    reply(503, "5.5.1", "TLS already active");
    count_bad_command();
    return Step::Continue;
  }
  if (txn_) end_transaction(TransactionResult::Aborted);
  reply(220, "2.0.0", "Ready to start TLS");
  // CVE-2011-0411: anything the client pipelined after STARTTLS arrived in plaintext and must not
  // be executed as if it had come over TLS.
  in_.clear();
  auto self = shared_from_this();
  write_out([self] {
    self->arm_timer(self->settings_.command_timeout, false);
    self->stream_.async_start_tls(*self->context_->tls, [self](boost::system::error_code ec) {
      self->disarm_timer();
      if (self->closed_) return;
      if (ec) {
        spdlog::debug("smtp session={} client={} TLS handshake failed: {}", self->id_text_, self->remote_text_,
                      ec.message());
        self->close_now();
        return;
      }
      // RFC 3207 §4.2: back to the initial state; the client must send EHLO again.
      self->helo_.clear();
      self->esmtp_ = false;
      self->auth_user_.reset();
      self->advance();
    });
  });
  return Step::Pending;
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
  std::string_view argument = command.argument;
  auto space = argument.find(' ');
  std::string mechanism(argument.substr(0, space));
  std::string_view initial = space == std::string_view::npos ? std::string_view{} : argument.substr(space + 1);
  for (char& c : mechanism) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
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
  // PLAIN: authzid NUL authcid NUL passwd
  const std::string& message = *decoded;
  auto first = message.find('\0');
  auto second = first == std::string::npos ? std::string::npos : message.find('\0', first + 1);
  if (second == std::string::npos || message.find('\0', second + 1) != std::string::npos) {
    OPENSSL_cleanse(decoded->data(), decoded->size());
    reply(501, "5.5.2", "Invalid PLAIN response");
    count_bad_command();
    return Step::Continue;
  }
  std::string authzid = message.substr(0, first);
  std::string user = message.substr(first + 1, second - first - 1);
  std::string password = message.substr(second + 1);
  OPENSSL_cleanse(decoded->data(), decoded->size());
  return check_credentials(std::move(user), std::move(authzid), std::move(password));
}

SmtpSession::Step SmtpSession::check_credentials(std::string user, std::string authzid, std::string password) {
  const AuthUser* found = nullptr;
  for (const auto& candidate : settings_.auth_users) {
    if (candidate.name == user) found = &candidate;
  }
  // An unknown user costs the same PBKDF2 run as a known one, so timing does not tell names apart.
  std::string hash = found ? found->password_hash : settings_.auth_users.front().password_hash;
  bool identity_ok = found && (authzid.empty() || authzid == user);
  auto check = [self = shared_from_this(), user = std::move(user), password = std::move(password),
                hash = std::move(hash), identity_ok]() mutable {
    bool ok = verify_password(password, hash) && identity_ok;
    OPENSSL_cleanse(password.data(), password.size());
    asio::post(self->stream_.socket().get_executor(), [self, ok, user = std::move(user)]() mutable {
      if (self->closed_) return;
      if (ok) {
        self->context_->auth_backoff.succeeded(self->remote_text_);
        self->auth_user_ = std::move(user);
        self->reply(235, "2.7.0", "Authentication successful");
      } else {
        self->auth_failed();
      }
      self->advance();
    });
  };
  // An address that failed before waits first (auth_failure_backoff.hpp): no CPU spent meanwhile.
  const auto delay = context_->auth_backoff.delay_for(remote_text_);
  auth_delay_.expires_after(delay);
  auth_delay_.async_wait([self = shared_from_this(), check = std::move(check)](boost::system::error_code ec) mutable {
    if (ec || self->closed_) return;
    const auto standing = self->context_->auth_backoff.standing(self->remote_text_);
    if (!self->context_->auth_pool || !self->context_->auth_pool->try_post(std::move(check), standing)) {
      self->reply(454, "4.7.0", "Temporary authentication failure");
      self->advance();
    }
  });
  return Step::Pending;
}

void SmtpSession::auth_failed() {
  spdlog::info("smtp session={} client={} authentication failed", id_text_, remote_text_);
  if (context_->auth_backoff.failed(remote_text_) > settings_.max_bad_commands) {
    reply(421, "4.7.0", context_->hostname + " Too many authentication failures from your address, closing connection");
    phase_ = Phase::Closing;
    return;
  }
  reply(535, "5.7.8", "Authentication credentials invalid");
  count_bad_command();
}

// ---- end of data: decide, sign, hand over -----------------------------------------------------

SmtpSession::Step SmtpSession::finish_data() {
  phase_ = Phase::Command;
  Transaction& t = *txn_;
  ++messages_;
  t.data_end = Clock::now();
  switch (t.reader->error()) {
    case DataError::None:
      break;
    case DataError::TooBig:
      data_reply(make_reply(552, "5.3.4", "Message size exceeds fixed maximum message size"), "too big");
      return Step::Continue;
    case DataError::LineTooLong:
      data_reply(make_reply(500, "5.5.2", "Line too long"), "text line too long");
      return Step::Continue;
    case DataError::BareLineEnding:
      data_reply(make_reply(550, "5.6.0", "Bare CR or LF in message; lines must end with CRLF"), "bare CR or LF");
      return Step::Continue;
    case DataError::SmuggledEnd:
      data_reply(make_reply(550, "5.6.0", "Malformed end-of-data sequence in message"), "smuggling attempt");
      return Step::Continue;
    case DataError::NulByte:
      data_reply(make_reply(550, "5.6.0", "NUL character in message; BINARYMIME is not supported"), "NUL byte");
      return Step::Continue;
  }
  if (const auto& failure = t.message->failure()) {
    data_reply(*failure, "local failure");
    return Step::Continue;
  }
  const SigningPlan& plan = t.message->finish_plan();
  t.from_domain = plan.from_domain;
  if (plan.refusal) {
    if (plan.no_key) context_->metrics.unsigned_message(UnsignedReason::NoKey);
    data_reply(*plan.refusal, plan.refusal_reason);
    return Step::Continue;
  }
  if (plan.requests.empty()) {
    context_->metrics.unsigned_message(UnsignedReason::PolicyPass);
    deliver({}, {});
    return Step::Pending;
  }
  // Signing runs here, on the I/O thread, holding no lock: an RSA-2048 signature costs about a
  // quarter of a millisecond, less than handing the work to another thread and back would save.
  auto started = Clock::now();
  auto signatures = t.message->sign();
  auto signing_time = Clock::now() - started;
  context_->metrics.signing_latency(signing_time);
  if (!signatures) {
    spdlog::error("smtp session={} signing for {} failed: {}", id_text_, plan.from_domain, signatures.error().message);
    data_reply(make_reply(451, "4.3.0", "Signing failed, try again later"), "signing failed");
    return Step::Continue;
  }
  for (const auto& request : plan.requests) {
    context_->metrics.signed_with(request.key->algorithm());
    if (!t.selectors.empty()) t.selectors += ',';
    t.selectors += request.options.selector;
  }
  deliver(std::move(signatures).value(), signing_time);
  return Step::Pending;
}

std::string SmtpSession::received_field() const {
  std::string protocol = esmtp_ ? "ESMTP" : "SMTP";
  if (esmtp_ && stream_.tls()) protocol += 'S';
  if (esmtp_ && auth_user_) protocol += 'A';
  std::string address = remote_.is_v6() ? "IPv6:" + remote_text_ : remote_text_;
  return "Received: from " + sanitized(helo_) + " ([" + address + "])\r\n\tby " + sanitized(context_->hostname) +
         " (dkim-relay) with " + protocol + " id " + id_text_ + "." + std::to_string(txn_->number) + ";\r\n\t" +
         rfc5322_date() + "\r\n";
}

void SmtpSession::deliver(std::vector<std::string> signatures, std::chrono::nanoseconds signing_time) {
  Transaction& t = *txn_;
  t.signing_time = signing_time;
  OutboundMessage message;
  // The Received field goes on top, after signing: it is ours, and not covered by the signature.
  message.prepend = received_field();
  for (auto& field : signatures) message.prepend += field;
  message.content = t.message->spool();
  t.size = message.content->size();
  auto number = t.number;
  t.upstream->data(std::move(message), [self = shared_from_this(), number](SmtpReply r) {
    if (self->closed_ || !self->txn_ || self->txn_->number != number) return;
    self->context_->metrics.upstream_reply(r.code);
    self->data_reply(checked(std::move(r)), "");
    self->advance();
  });
}

void SmtpSession::data_reply(SmtpReply r, std::string_view detail) {
  Transaction& t = *txn_;
  auto result = result_of(r);
  auto total = Clock::now() - t.data_end;
  context_->metrics.end_to_end_latency(total);
  if (t.size == 0 && t.message) t.size = t.message->spool()->size();
  spdlog::info(
      "smtp session={} client={} user={} rule={} from_domain={} selectors={} size={} rcpts={} reply={} "
      "total_ms={:.2f} sign_ms={:.3f}{}{}",
      id_text_, remote_text_, auth_user_.value_or("-"), t.signing_rule.empty() ? "-" : t.signing_rule,
      t.from_domain.empty() ? "-" : t.from_domain, t.selectors.empty() ? "-" : t.selectors, t.size, t.recipients,
      r.code, milliseconds(total), milliseconds(t.signing_time), detail.empty() ? "" : " reason=", detail);
  reply(std::move(r));
  end_transaction(result);
}

void SmtpSession::end_transaction(TransactionResult result) {
  if (!txn_) return;
  // Anything short of acceptance leaves nothing to deliver upstream (a no-op when it already
  // answered DATA with an error).
  if (txn_->upstream && result != TransactionResult::Accepted) txn_->upstream->abort();
  if (result == TransactionResult::Aborted) {
    spdlog::debug("smtp session={} client={} transaction aborted", id_text_, remote_text_);
  }
  context_->metrics.transaction(result);
  txn_.reset();
}

}  // namespace dkr::relay
