#include "upstream/upstream_smtp_transaction.hpp"

#include <algorithm>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "rethrow_coroutine_exception.hpp"

namespace dkr::upstream {

namespace asio = boost::asio;

namespace {

SmtpReply aborted_reply() { return make_reply(451, "4.3.0", "transaction aborted"); }

// The arguments become part of a command line: a line break would smuggle in another command.
bool safe_arguments(const std::string& args) {
  return args.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos;
}

// Only 354 lets the message go; a 2xx or 3xx other than that would pass on to the client as if the
// upstream had taken a message it never saw.
UpstreamOutcome go_ahead(UpstreamOutcome reply_to_data) {
  if (reply_to_data.transport != UpstreamTransport::ok || reply_to_data.reply.code == 354 ||
      !reply_to_data.reply.positive()) {
    return reply_to_data;
  }
  return {make_reply(451, "4.5.0", "upstream answered DATA with " + std::to_string(reply_to_data.reply.code)),
          UpstreamTransport::failed};
}

bool is_envelope(UpstreamTransactionCore::Kind kind) {
  return kind == UpstreamTransactionCore::Kind::mail || kind == UpstreamTransactionCore::Kind::rcpt;
}

}  // namespace

UpstreamTransactionCore::UpstreamTransactionCore(UpstreamStrand strand, asio::any_io_executor client,
                                                 std::shared_ptr<UpstreamPool> pool,
                                                 std::shared_ptr<UpstreamConnection> connection, bool reused)
    : strand_(std::move(strand)),
      client_(std::move(client)),
      pool_(std::move(pool)),
      connection_(std::move(connection)),
      reused_(reused) {}

void UpstreamTransactionCore::reply(ReplyHandler done, SmtpReply reply) {
  if (!done) return;
  asio::post(client_, [done = std::move(done), reply = std::move(reply)]() mutable { done(std::move(reply)); });
}

void UpstreamTransactionCore::enqueue(Step step) {
  if (abandoned_) return reply(std::move(step.done), aborted_reply());
  if (released_) {
    return reply(std::move(step.done), make_reply(451, "4.3.0", "upstream transaction already finished"));
  }
  queue_.push_back(std::move(step));
  if (!working_) {
    working_ = true;
    asio::co_spawn(
        strand_, [self = shared_from_this()]() { return self->work(); }, rethrow_coroutine_exception);
  }
}

void UpstreamTransactionCore::abandon(bool notify) {
  if (abandoned_) return;
  abandoned_ = true;
  if (notify) {
    for (ReplyHandler& done : in_flight_) reply(std::move(done), aborted_reply());
    for (Step& step : queue_) reply(std::move(step.done), aborted_reply());
  }
  in_flight_.clear();
  queue_.clear();
  // Part of the message may be out: only closing guarantees the upstream delivers nothing.
  if (data_in_progress_ && connection_) connection_->close();
  if (!working_) {
    asio::co_spawn(
        strand_, [self = shared_from_this()]() { return self->release(); }, rethrow_coroutine_exception);
  }
}

UpstreamTask<void> UpstreamTransactionCore::work() {
  while (!queue_.empty() && !abandoned_) {
    if (envelope_batch_ready()) {
      co_await send_envelope_batch();
      continue;
    }
    Step step = std::move(queue_.front());
    queue_.pop_front();
    if (step.kind == Kind::open_data) {
      co_await open_data();
      continue;
    }
    in_flight_.clear();
    in_flight_.push_back(std::move(step.done));
    UpstreamOutcome outcome;
    if (released_ || !connection_) {
      outcome.reply = make_reply(451, "4.3.0", "upstream transaction already finished");
    } else if (step.kind != Kind::data && !safe_arguments(step.args)) {
      outcome.reply = make_reply(501, "5.5.2", "line break in command arguments");
    } else if (step.kind == Kind::mail) {
      outcome = co_await send_mail(std::move(step.args));
    } else if (step.kind == Kind::rcpt) {
      anything_sent_ = true;
      outcome = co_await connection_->command("RCPT TO:" + step.args);
      if (outcome.transport == UpstreamTransport::ok && outcome.reply.positive()) {
        envelope_.push_back("RCPT TO:" + step.args);
      }
    } else {
      outcome = co_await send_data(std::move(step.message));
    }
    if (!in_flight_.empty()) reply(std::move(in_flight_.front()), std::move(outcome.reply));  // else abandon() answered
    in_flight_.clear();
    if (step.kind == Kind::data && !data_in_progress_ && !needs_reset_ && connection_) {
      co_await release();  // the upstream ended the transaction; the connection is clean
    }
  }
  working_ = false;
  if (abandoned_) co_await release();
}

UpstreamTask<UpstreamOutcome> UpstreamTransactionCore::send_mail(std::string args) {
  const bool first_command = !anything_sent_;
  anything_sent_ = true;
  needs_reset_ = true;
  UpstreamOutcome outcome = co_await connection_->command("MAIL FROM:" + args);
  if (pooled_connection_dropped(outcome, first_command)) {
    if (auto failed = co_await reconnect(outcome)) co_return *failed;
    if (!abandoned_) outcome = co_await connection_->command("MAIL FROM:" + args);
  }
  envelope_.assign({"MAIL FROM:" + args});
  co_return outcome;
}

// The first command of a transaction found its pooled connection dropped by the upstream (closed,
// or 421): nothing was committed, so a fresh connection may retry.
bool UpstreamTransactionCore::pooled_connection_dropped(const UpstreamOutcome& first, bool first_command) const {
  const bool dropped = first.transport == UpstreamTransport::closed ||
                       (first.transport == UpstreamTransport::ok && first.reply.code == 421);
  return first_command && reused_ && dropped && !abandoned_;
}

// Replaces the dropped connection with a fresh one; if that fails, the outcome for the client.
UpstreamTask<std::optional<UpstreamOutcome>> UpstreamTransactionCore::reconnect(const UpstreamOutcome& dropped) {
  spdlog::info("upstream: pooled connection was dropped ({}), reconnecting", dropped.reply.code);
  connection_->close();
  reused_ = false;
  auto [fresh, opened] = co_await pool_->open(strand_.get_inner_executor());
  if (!fresh) co_return opened;
  connection_ = std::move(fresh);
  co_return std::nullopt;
}

// Two or more envelope commands waiting and an upstream that pipelines: one write instead of a
// round trip each (MAIL and the first RCPT always arrive together, see SmtpSession).
bool UpstreamTransactionCore::envelope_batch_ready() const {
  if (released_ || !connection_ || !connection_->extensions().pipelining || queue_.size() < 2) return false;
  for (std::size_t i = 0; i < 2; ++i) {
    if (!is_envelope(queue_[i].kind) || !safe_arguments(queue_[i].args)) return false;
  }
  return true;
}

UpstreamTask<void> UpstreamTransactionCore::send_envelope_batch() {
  const bool starts_with_mail = queue_.front().kind == Kind::mail;
  std::vector<std::string> lines;
  in_flight_.clear();
  // Replies go back in order, so the batch stops at the first step the single path must handle.
  while (!queue_.empty() && is_envelope(queue_.front().kind) && safe_arguments(queue_.front().args)) {
    Step step = std::move(queue_.front());
    queue_.pop_front();
    lines.push_back((step.kind == Kind::mail ? "MAIL FROM:" : "RCPT TO:") + step.args);
    in_flight_.push_back(std::move(step.done));
  }
  const bool first_command = !anything_sent_;
  anything_sent_ = true;
  if (starts_with_mail) needs_reset_ = true;
  std::vector<UpstreamOutcome> outcomes = co_await connection_->pipelined(lines);
  if (starts_with_mail && pooled_connection_dropped(outcomes.front(), first_command)) {
    if (auto failed = co_await reconnect(outcomes.front())) {
      outcomes.assign(lines.size(), *failed);
    } else if (!abandoned_) {
      // The fresh connection may not pipeline; lines not sent (abandoned) keep the dropped outcome.
      std::vector<UpstreamOutcome> again = co_await connection_->commands(lines, abandoned_);
      std::move(again.begin(), again.end(), outcomes.begin());
    }
  }
  for (std::size_t i = 0; i < lines.size() && i < outcomes.size(); ++i) {
    if (i == 0 && starts_with_mail) envelope_.clear();
    if (outcomes[i].transport == UpstreamTransport::ok && outcomes[i].reply.positive()) envelope_.push_back(lines[i]);
  }
  std::vector<ReplyHandler> handlers = std::move(in_flight_);  // empty if abandon() answered already
  in_flight_.clear();
  for (std::size_t i = 0; i < handlers.size() && i < outcomes.size(); ++i) {
    reply(std::move(handlers[i]), std::move(outcomes[i].reply));
  }
}

// DATA goes out while the client is still sending its message; the 354 waits in early_go_.
UpstreamTask<void> UpstreamTransactionCore::open_data() {
  if (released_ || !connection_ || envelope_.size() < 2) co_return;  // data() takes the usual path
  anything_sent_ = true;
  data_in_progress_ = true;
  early_go_ = go_ahead(co_await connection_->command("DATA"));
  early_go_at_ = std::chrono::steady_clock::now();
  if (early_go_->transport == UpstreamTransport::ok && early_go_->reply.code != 354) data_in_progress_ = false;
}

// The connection that waited in DATA failed or spoke before any of the message went out (an
// upstream's timeout while a slow client sent a large message): nothing of the message reached
// it, so the envelope is given again on a fresh connection. The recipients accepted before must
// all be accepted again; otherwise the client gets a 4xx and retries the whole message.
UpstreamTask<std::optional<UpstreamOutcome>> UpstreamTransactionCore::replay_envelope() {
  spdlog::info("upstream: connection lost while the client sent its message; giving the envelope again");
  connection_->close();
  data_in_progress_ = false;
  reused_ = false;
  auto [fresh, opened] = co_await pool_->open(strand_.get_inner_executor());
  if (!fresh) co_return opened;
  connection_ = std::move(fresh);
  needs_reset_ = true;
  const std::vector<UpstreamOutcome> outcomes = co_await connection_->commands(envelope_, abandoned_);
  for (const UpstreamOutcome& outcome : outcomes) {
    if (outcome.transport != UpstreamTransport::ok) co_return outcome;
    if (!outcome.reply.positive()) {
      co_return UpstreamOutcome{make_reply(451, "4.4.2",
                                           "upstream connection lost during DATA and the envelope was refused again: " +
                                               outcome.reply.first_line()),
                                UpstreamTransport::ok};
    }
  }
  co_return std::nullopt;
}

UpstreamTask<UpstreamOutcome> UpstreamTransactionCore::send_data(OutboundMessage message) {
  anything_sent_ = true;
  if (std::optional<UpstreamOutcome> early = std::exchange(early_go_, std::nullopt)) {
    const bool refused =
        early->transport == UpstreamTransport::ok && early->reply.code != 354 && early->reply.code != 421;
    if (refused) co_return *early;  // the upstream's answer to DATA is the answer to the message
    // Upstreams time out in DATA after seconds (Postfix: 10 s at the least, under stress); a client
    // that was quicker spares the look (a system call); anything else breaking in between is a
    // failure like any other connection drop.
    const bool quick = std::chrono::steady_clock::now() - early_go_at_ < std::chrono::seconds(1);
    if (early->reply.code == 354 && (quick || !connection_->peer_spoke_or_closed())) {
      co_return co_await send_message(std::move(message));
    }
    if (auto failed = co_await replay_envelope()) co_return *failed;
    if (abandoned_) co_return UpstreamOutcome{aborted_reply(), UpstreamTransport::ok};
  }
  data_in_progress_ = true;
  UpstreamOutcome go = go_ahead(co_await connection_->command("DATA"));
  if (go.transport != UpstreamTransport::ok) co_return go;
  if (go.reply.code != 354) {
    data_in_progress_ = false;  // refused: the transaction stays open upstream
    co_return go;
  }
  if (abandoned_) co_return go;  // abandon() closed the connection
  co_return co_await send_message(std::move(message));
}

UpstreamTask<UpstreamOutcome> UpstreamTransactionCore::send_message(OutboundMessage message) {
  UpstreamOutcome final_reply = co_await connection_->send_message(message, abandoned_);
  if (final_reply.transport == UpstreamTransport::ok) {
    data_in_progress_ = false;
    needs_reset_ = false;
  }
  co_return final_reply;
}

UpstreamTask<void> UpstreamTransactionCore::release() {
  if (released_) co_return;
  released_ = true;
  std::shared_ptr<UpstreamConnection> connection = std::move(connection_);
  if (!connection) co_return;
  if (!connection->usable() || data_in_progress_) {
    connection->close();
    co_return;
  }
  if (needs_reset_) {
    UpstreamOutcome reset = co_await connection->command("RSET");
    if (reset.transport != UpstreamTransport::ok || reset.reply.code != 250) {
      connection->close();
      co_return;
    }
  }
  pool_->give_back(std::move(connection));
}

SmtpUpstreamTransaction::SmtpUpstreamTransaction(std::shared_ptr<UpstreamTransactionCore> core)
    : core_(std::move(core)) {}

SmtpUpstreamTransaction::~SmtpUpstreamTransaction() {
  asio::post(core_->strand(), [core = core_] { core->abandon(false); });
}

void SmtpUpstreamTransaction::enqueue(UpstreamTransactionCore::Step step) {
  asio::post(core_->strand(), [core = core_, step = std::move(step)]() mutable { core->enqueue(std::move(step)); });
}

void SmtpUpstreamTransaction::mail_from(std::string args, ReplyHandler done) {
  enqueue({UpstreamTransactionCore::Kind::mail, std::move(args), {}, std::move(done)});
}

void SmtpUpstreamTransaction::rcpt_to(std::string args, ReplyHandler done) {
  enqueue({UpstreamTransactionCore::Kind::rcpt, std::move(args), {}, std::move(done)});
}

void SmtpUpstreamTransaction::prepare_data() { enqueue({UpstreamTransactionCore::Kind::open_data, {}, {}, {}}); }

void SmtpUpstreamTransaction::data(OutboundMessage message, ReplyHandler done) {
  enqueue({UpstreamTransactionCore::Kind::data, {}, std::move(message), std::move(done)});
}

void SmtpUpstreamTransaction::abort() {
  asio::post(core_->strand(), [core = core_] { core->abandon(true); });
}

}  // namespace dkr::upstream
