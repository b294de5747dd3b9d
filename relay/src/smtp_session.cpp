#include "smtp_session.hpp"

#include <algorithm>
#include <utility>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "relay/mail_auth_parameter.hpp"
#include "relay/signing_authorization.hpp"
#include "received_field.hpp"
#include "smtp_auth.hpp"
#include "stress_mode.hpp"

namespace dkr::relay {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

double milliseconds(std::chrono::nanoseconds duration) { return static_cast<double>(duration.count()) / 1e6; }

}  // namespace

SmtpSession::SmtpSession(std::shared_ptr<SessionContext> context, ClientStream::Socket socket, std::uint64_t id)
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
  // Non-blocking for write_now (a synchronous write must never wait on the I/O thread); the
  // first asynchronous operation would have set it anyway.
  stream_.socket().non_blocking(true, ec);
}

SmtpSession::~SmtpSession() {
  if (txn_) txn_->abort();
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
  // The pending wait holds the session: cancel it for real.
  deadline_armed_ = false;
  ++timer_generation_;
  timer_expiry_.reset();
  timer_.cancel();
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
      if (out_.empty() || write_now())
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
        if (out_.empty() || write_now()) continue;
        write_out([self] { self->advance(); });
        return;
      case Step::NeedInput:
        if (out_.empty() || write_now())
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
    if (const std::string_view fresh = std::exchange(fresh_data_, {}); !fresh.empty()) {
      const auto used = txn_->reader->feed(fresh, *txn_->message);
      in_.append(fresh.substr(used));
    } else {
      auto used = txn_->reader->feed(in_, *txn_->message);
      in_.erase(0, used);
    }
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
  char* into = read_buffer_.data();
  std::size_t room = read_buffer_.size();
  if (phase_ == Phase::Data && data_received_ >= data_buffer_after) {
    if (!data_buffer_) data_buffer_ = std::make_unique_for_overwrite<char[]>(data_buffer_size);
    into = data_buffer_.get();
    room = data_buffer_size;
  }
  stream_.async_read_some(asio::buffer(into, room),
                          [self = shared_from_this(), into](boost::system::error_code ec, std::size_t n) {
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
                            if (self->phase_ == Phase::Data) {
                              self->data_received_ += n;
                              if (self->in_.empty()) {
                                self->fresh_data_ = std::string_view(into, n);
                                self->advance();
                                return;
                              }
                            }
                            self->in_.append(into, n);
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
  arm_deadline(std::max(now, read_deadline()), true);
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

// A reply almost always fits the socket's send buffer: sent here, it needs no completion handler (a
// trip through the scheduler and an epoll_wait) and no timer. What the socket does not take, and
// any error, is left to write_out. TLS records go through the stream's engine, so only plaintext.
bool SmtpSession::write_now() {
  if (stream_.tls()) return false;
  boost::system::error_code ec;
  const auto n = stream_.socket().write_some(asio::buffer(out_), ec);
  if (ec) return false;
  out_.erase(0, n);
  return out_.empty();
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
  arm_deadline(Clock::now() + timeout, on_read);
}

void SmtpSession::arm_deadline(Clock::time_point deadline, bool on_read) {
  deadline_ = deadline;
  deadline_armed_ = true;
  timer_on_read_ = on_read;
  if (!timer_expiry_ || *timer_expiry_ > deadline) wait_timer(deadline);
}

void SmtpSession::disarm_timer() { deadline_armed_ = false; }

void SmtpSession::wait_timer(Clock::time_point expiry) {
  auto generation = ++timer_generation_;
  timer_expiry_ = expiry;
  timer_.expires_at(expiry);  // cancels a later pending wait: its handler sees another generation
  timer_.async_wait([self = shared_from_this(), generation](boost::system::error_code ec) {
    if (ec || generation != self->timer_generation_ || self->closed_) return;
    self->timer_expiry_.reset();
    self->on_timer();
  });
}

void SmtpSession::on_timer() {
  if (!deadline_armed_) return;  // the next arm waits again
  if (deadline_ > Clock::now()) {
    wait_timer(deadline_);  // re-armed for later since this wait began
    return;
  }
  deadline_armed_ = false;
  on_timeout();
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
  r.lines.push_back(context_->hostname + " greets " + trace_safe(helo_));
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
  txn_ = std::make_shared<RelayTransaction>(context_, stream_.socket().get_executor(), ++transaction_counter_,
                                            upstream_mail_arguments(command, auth_user_), command.mail);
  reply(250, "2.1.0", "Sender OK");
  return Step::Continue;
}

bool SmtpSession::relay_allowed() const {
  if (auth_user_) return true;
  for (const auto& range : settings_.allowed_networks) {
    if (in_range(range, remote_)) return true;
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
  txn_->rcpt(command.argument, [self = shared_from_this()](SmtpReply r) {
    if (is_2xx(r)) ++self->txn_->recipients;
    self->reply(std::move(r));
    self->advance();
  });
  return Step::Pending;
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
  txn_->start_data(signing_scope(settings_, auth_user_, remote_), !refused_locally_);
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

// ---- end of data: decide, sign, hand over -----------------------------------------------------

SmtpSession::Step SmtpSession::finish_data() {
  phase_ = Phase::Command;
  data_buffer_.reset();  // what was left after the final dot is in in_ already
  ++messages_;
  RelayTransaction::Outcome now;
  // Signing elsewhere (a PKCS#11 key): nothing of this session runs meanwhile, as while the
  // upstream answers; the outcome comes back on the strand, and is dropped if the session closed.
  const bool settled = txn_->end_of_data(id_text_, now, [self = shared_from_this()](RelayTransaction::Outcome later) {
    if (self->closed_) return;
    self->disarm_timer();
    if (self->hand_over(std::move(later)) == Step::Continue) self->advance();
  });
  if (settled) return hand_over(std::move(now));
  // A module that never answers (a hung network HSM) must not hold the connection forever: after
  // command_timeout the connection closes without a reply (RFC 5321 §4.5.3.2.6 gives the client 10
  // minutes for the reply to the final dot), the transaction is aborted, and a signature that comes
  // later is dropped.
  arm_timer(settings_.command_timeout, false);
  return Step::Pending;
}

SmtpSession::Step SmtpSession::hand_over(RelayTransaction::Outcome outcome) {
  if (outcome) {
    refused_locally_ = true;
    data_reply(std::move(outcome->reply), outcome->reason);
    return Step::Continue;
  }
  txn_->deliver(received_field(), [self = shared_from_this()](SmtpReply r) {
    self->data_reply(std::move(r), "");
    self->advance();
  });
  return Step::Pending;
}

std::string SmtpSession::received_field() const {
  std::string protocol = esmtp_ ? "ESMTP" : "SMTP";
  if (esmtp_ && stream_.tls()) protocol += 'S';
  if (esmtp_ && auth_user_) protocol += 'A';
  std::string address = remote_.is_v6() ? "IPv6:" + remote_text_ : remote_text_;
  return relay::received_field(helo_, address, context_->hostname, protocol,
                               id_text_ + "." + std::to_string(txn_->number));
}

void SmtpSession::data_reply(SmtpReply r, std::string_view detail) {
  RelayTransaction& t = *txn_;
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
  if (result != TransactionResult::Accepted) txn_->abort();
  if (result == TransactionResult::Aborted) {
    spdlog::debug("smtp session={} client={} transaction aborted", id_text_, remote_text_);
  }
  context_->metrics.transaction(result);
  txn_.reset();
}

}  // namespace dkr::relay
