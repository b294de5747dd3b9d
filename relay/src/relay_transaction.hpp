#pragma once
// One mail transaction of a session, as relayed: its envelope, the message as it arrives, and the
// back-and-forth with the upstream. The upstream transaction is opened at the first RCPT with MAIL
// passed on in front of it (a refused MAIL answers that RCPT, and the next RCPT tries again); each
// RCPT reply is the upstream's; after the final dot the message is checked, signed and handed over.
//
// Upstream completions pass one check before they touch anything (`guarded`, as Beast's advanced
// server checks once at the top of each handler): after abort() they are dropped, so the session's
// handlers only ever run for the transaction in progress. Everything runs on the session's strand,
// except a signature by an external key, made on the signing pool while the session waits.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "common/result.hpp"
#include "incoming_message.hpp"
#include "relay/data_reader.hpp"
#include "relay/signing_authorization.hpp"
#include "relay/smtp_command.hpp"
#include "session_context.hpp"
#include "relay/upstream_vocabulary.hpp"

namespace dkr::relay {

inline bool is_2xx(const SmtpReply& reply) { return reply.code >= 200 && reply.code < 300; }

// A reply from the upstream that is usable for the client, else 451 4.4.2.
SmtpReply checked(SmtpReply reply);
// How a final reply to DATA counts in the metrics.
TransactionResult result_of(const SmtpReply& reply);

class RelayTransaction : public std::enable_shared_from_this<RelayTransaction> {
 public:
  RelayTransaction(std::shared_ptr<SessionContext> context, boost::asio::any_io_executor executor, std::uint64_t number,
                   std::string mail_args, MailParameters mail);

  // Passes RCPT on (opening the upstream transaction first when there is none); `done` gets the
  // reply for the client, already checked().
  void rcpt(std::string args, ReplyHandler done);
  // DATA accepted: the reader and the message (signing decided within `scope`) start empty. With
  // `open_upstream_data` the upstream's DATA round trip overlaps the client's message; a message
  // then refused here costs that upstream connection (only closing ends a DATA phase without a
  // delivery), so sessions stop doing it after one such refusal.
  void start_data(SigningScope scope, bool open_upstream_data);
  // A local answer after the final dot: the message is refused (or failed) here, with a reason
  // for the log line.
  struct LocalAnswer {
    SmtpReply reply;
    std::string reason;
  };
  // What the end of data came to: nullopt when the message is ready for deliver(), else the local answer.
  using Outcome = std::optional<LocalAnswer>;
  using OutcomeHandler = std::function<void(Outcome)>;
  // After the final dot: the reader's verdict, the signing plan, the signatures. True when that is
  // settled here, with the outcome in `now`. False when a key of the plan signs outside the process
  // (signing_pool.hpp): `later` then gets the outcome on the session's executor, unless the
  // transaction was aborted meanwhile.
  bool end_of_data(std::string_view session_id, Outcome& now, OutcomeHandler later);
  // Hands the message over with `received` and the signatures on top; `done` gets the upstream's
  // final reply, already checked().
  void deliver(std::string received, ReplyHandler done);
  // The client's transaction ended short of acceptance: nothing may be delivered upstream.
  void abort();

  const std::uint64_t number;
  const std::string mail_args;
  const MailParameters mail;
  std::uint32_t recipients = 0;     // accepted by the upstream
  std::uint32_t rcpt_attempts = 0;  // passed upstream (bounded by max_recipients)
  std::optional<DataReader> reader;
  std::optional<IncomingMessage> message;
  std::chrono::steady_clock::time_point data_end;
  std::string from_domain;   // for the log line
  std::string signing_rule;  // which rule decided what the client may sign ("user:alice", ...)
  std::string selectors;
  std::uint64_t size = 0;
  std::chrono::nanoseconds signing_time{0};

 private:
  void send_rcpt(std::string args, ReplyHandler done);
  // The reader's verdict and the plan: set when the transaction is settled without signing.
  std::optional<Outcome> verdict();
  // The plan's signatures (or the failure to make them) as the transaction's outcome. On the strand.
  Outcome take_signatures(Result<std::vector<std::string>> signatures, std::string_view session_id);
  // Wraps an upstream completion: it runs (with this transaction) only while not aborted.
  template <class Handler>
  auto guarded(Handler handler) {
    return [self = shared_from_this(), handler = std::move(handler)](SmtpReply reply) mutable {
      if (self->aborted_) return;
      handler(*self, std::move(reply));
    };
  }

  std::shared_ptr<SessionContext> context_;
  boost::asio::any_io_executor executor_;
  std::unique_ptr<UpstreamTransaction> upstream_;
  std::optional<SmtpReply> mail_refusal_;  // the upstream's answer to MAIL when it was not 2xx
  std::vector<std::string> signatures_;
  bool aborted_ = false;
};

}  // namespace dkr::relay
