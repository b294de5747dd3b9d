#include "relay_transaction.hpp"

#include <algorithm>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

namespace dkr::relay {

using Clock = std::chrono::steady_clock;

SmtpReply checked(SmtpReply r) {
  if (r.code < 200 || r.code > 599 || (r.code >= 300 && r.code < 400)) {
    return make_reply(451, "4.4.2", "Upstream connection problem, try again later");
  }
  // The upstream closing its channel is not ours closing the client's (RFC 5321 §3.8: a 421 obliges
  // the client to drop the connection): the transaction failed, the session goes on.
  if (r.code == 421) return make_reply(451, "4.4.1", "Upstream not available, try again later");
  return r;
}

TransactionResult result_of(const SmtpReply& reply) {
  if (is_2xx(reply)) return TransactionResult::Accepted;
  if (reply.transient()) return TransactionResult::Tempfailed;
  return TransactionResult::Rejected;
}

RelayTransaction::RelayTransaction(std::shared_ptr<SessionContext> context, boost::asio::any_io_executor executor,
                                   std::uint64_t number_, std::string mail_args_, MailParameters mail_)
    : number(number_),
      mail_args(std::move(mail_args_)),
      mail(std::move(mail_)),
      context_(std::move(context)),
      executor_(std::move(executor)) {}

void RelayTransaction::rcpt(std::string args, ReplyHandler done) {
  if (upstream_) {
    send_rcpt(std::move(args), std::move(done));
    return;
  }
  // First recipient: open the upstream transaction and pass MAIL on. A refusal of MAIL is the
  // answer to this RCPT; the next RCPT tries again.
  context_->upstream->begin(executor_, [self = shared_from_this(), args = std::move(args), done = std::move(done)](
                                           std::unique_ptr<UpstreamTransaction> upstream, SmtpReply failure) mutable {
    if (self->aborted_) {  // the only completion that must act when stale: nothing may be sent
      if (upstream) upstream->abort();
      return;
    }
    if (!upstream) {
      self->context_->metrics.upstream_reply(failure.code);
      // Without a transaction only a refusal makes sense, whatever the upstream said.
      bool refusal = failure.code >= 400 && failure.code < 600;
      done(refusal ? checked(std::move(failure)) : make_reply(451, "4.4.1", "Upstream unavailable, try again later"));
      return;
    }
    self->upstream_ = std::move(upstream);
    // MAIL and RCPT go out together (one write when the upstream pipelines); replies come back in
    // order, so the RCPT completion knows whether MAIL was refused and then answers with that.
    self->upstream_->mail_from(self->mail_args, self->guarded([](RelayTransaction& t, SmtpReply r) {
      if (!is_2xx(r)) t.mail_refusal_ = std::move(r);
    }));
    self->send_rcpt(std::move(args), std::move(done));
  });
}

void RelayTransaction::send_rcpt(std::string args, ReplyHandler done) {
  upstream_->rcpt_to(std::move(args), guarded([done = std::move(done)](RelayTransaction& t, SmtpReply r) {
                       if (t.mail_refusal_) {
                         // The upstream's RCPT reply is moot then (503 or a dropped connection); the next RCPT retries.
                         SmtpReply refusal = std::move(*t.mail_refusal_);
                         t.mail_refusal_.reset();
                         t.upstream_->abort();
                         t.upstream_.reset();
                         done(checked(std::move(refusal)));
                         return;
                       }
                       done(checked(std::move(r)));
                     }));
}

void RelayTransaction::start_data(SigningScope scope, bool open_upstream_data) {
  const RelaySettings& settings = context_->settings;
  DataLimits limits;
  limits.max_size = settings.max_message_size;
  limits.max_line = settings.max_text_line;
  limits.normalize_bare_line_endings = settings.bare_line_endings == BareLineEndings::Normalize;
  reader.emplace(limits);
  signing_rule = scope.rule;
  message.emplace(settings, *context_->keys, std::move(scope));
  if (upstream_ && open_upstream_data) upstream_->prepare_data();
}

std::optional<RelayTransaction::Outcome> RelayTransaction::verdict() {
  data_end = Clock::now();
  switch (reader->error()) {
    case DataError::None:
      break;
    case DataError::TooBig:
      return LocalAnswer{make_reply(552, "5.3.4", "Message size exceeds fixed maximum message size"), "too big"};
    case DataError::LineTooLong:
      return LocalAnswer{make_reply(500, "5.5.2", "Line too long"), "text line too long"};
    case DataError::BareLineEnding:
      return LocalAnswer{make_reply(550, "5.6.0", "Bare CR or LF in message; lines must end with CRLF"),
                         "bare CR or LF"};
    case DataError::SmuggledEnd:
      return LocalAnswer{make_reply(550, "5.6.0", "Malformed end-of-data sequence in message"), "smuggling attempt"};
    case DataError::NulByte:
      return LocalAnswer{make_reply(550, "5.6.0", "NUL character in message; BINARYMIME is not supported"), "NUL byte"};
  }
  if (const auto& failure = message->failure()) return LocalAnswer{*failure, "local failure"};
  if (!reader->content_has_dot_line()) message->note_no_dot_lines();
  const SigningPlan& plan = message->finish_plan();
  from_domain = plan.from_domain;
  if (plan.refusal) {
    if (plan.no_key) context_->metrics.unsigned_message(UnsignedReason::NoKey);
    return LocalAnswer{*plan.refusal, plan.refusal_reason};
  }
  if (plan.requests.empty()) {
    context_->metrics.unsigned_message(UnsignedReason::PolicyPass);
    return Outcome{};
  }
  return std::nullopt;
}

bool RelayTransaction::end_of_data(std::string_view session_id, Outcome& now, OutcomeHandler later) {
  if (auto settled = verdict()) {
    now = std::move(*settled);
    return true;
  }
  const auto& requests = message->finish_plan().requests;
  const bool external = std::any_of(requests.begin(), requests.end(),
                                    [](const signer::SignRequest& r) { return r.key->external_part() != nullptr; });
  // In-process keys sign here, on the I/O thread, holding no lock: an RSA-2048 signature costs
  // ~0.3 ms of CPU, which a hand-off to another thread would not save (the CPU is the same, and the
  // two wake-ups add latency on a loaded machine: bench/pkcs11/README.md, "Where C_Sign runs"). A key
  // outside the process may make C_Sign wait on a socket or a device for milliseconds, during which
  // this I/O thread's other sessions would wait too: that goes to the signing pool.
  if (!external || !context_->signing_pool) {
    auto started = Clock::now();
    auto signatures = message->sign();
    signing_time = Clock::now() - started;
    now = take_signatures(std::move(signatures), session_id);
    return true;
  }
  auto job = [self = shared_from_this(), session = std::string(session_id), later = std::move(later)]() mutable {
    // Only the message's signer is touched here; the session does nothing with the transaction
    // until the outcome is posted back.
    auto started = Clock::now();
    auto signatures = self->message->sign();
    auto took = Clock::now() - started;
    return SigningPool::Completion([self = std::move(self), session = std::move(session), later = std::move(later),
                                    signatures = std::move(signatures), took]() mutable {
      auto executor = self->executor_;
      boost::asio::post(executor, [self = std::move(self), session = std::move(session), later = std::move(later),
                                   signatures = std::move(signatures), took]() mutable {
        if (self->aborted_) return;
        self->signing_time = took;
        later(self->take_signatures(std::move(signatures), session));
      });
    });
  };
  if (!context_->signing_pool->try_post(std::move(job))) {
    spdlog::warn("smtp session={} signing for {}: every signing thread busy and the queue full (relay.signing_queue)",
                 session_id, from_domain);
    now = LocalAnswer{make_reply(451, "4.3.0", "Signing queue full, try again later"), "signing queue full"};
    return true;
  }
  return false;
}

RelayTransaction::Outcome RelayTransaction::take_signatures(Result<std::vector<std::string>> signatures,
                                                            std::string_view session_id) {
  const SigningPlan& plan = message->finish_plan();
  context_->metrics.signing_latency(signing_time);
  if (!signatures) {
    spdlog::error("smtp session={} signing for {} failed: {}", session_id, plan.from_domain,
                  signatures.error().message);
    signing_time = {};
    if (signatures.error().code == ErrorCode::unavailable) {
      // The key is out of reach (a PKCS#11 token or key service gone): the message is one no key
      // signs, so relay.unsigned decides, as for a domain without a key.
      switch (context_->settings.unsigned_policy) {
        case UnsignedPolicy::Pass:
          context_->metrics.unsigned_message(UnsignedReason::PolicyPass);
          return Outcome{};
        case UnsignedPolicy::Tempfail:
          context_->metrics.unsigned_message(UnsignedReason::NoKey);
          return LocalAnswer{
              make_reply(451, "4.7.1", "DKIM key for " + plan.from_domain + " unavailable, try again later"),
              "signing key unavailable"};
        case UnsignedPolicy::Reject:
          context_->metrics.unsigned_message(UnsignedReason::NoKey);
          return LocalAnswer{make_reply(550, "5.7.1", "DKIM key for " + plan.from_domain + " unavailable"),
                             "signing key unavailable"};
      }
    }
    return LocalAnswer{make_reply(451, "4.3.0", "Signing failed, try again later"), "signing failed"};
  }
  for (const auto& request : plan.requests) {
    context_->metrics.signed_with(request.key->algorithm());
    if (!selectors.empty()) selectors += ',';
    selectors += request.options.selector;
  }
  signatures_ = std::move(signatures).value();
  return Outcome{};
}

void RelayTransaction::deliver(std::string received, ReplyHandler done) {
  OutboundMessage outbound;
  // The Received field goes on top, after signing: it is ours, and not covered by the signature.
  outbound.prepend = std::move(received);
  for (auto& field : signatures_) outbound.prepend += field;
  outbound.content = message->spool();
  size = outbound.content->size();
  upstream_->data(std::move(outbound), guarded([done = std::move(done)](RelayTransaction& t, SmtpReply r) {
                    t.context_->metrics.upstream_reply(r.code);
                    done(checked(std::move(r)));
                  }));
}

void RelayTransaction::abort() {
  aborted_ = true;
  if (upstream_) upstream_->abort();
}

}  // namespace dkr::relay
