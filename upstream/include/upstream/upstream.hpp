#pragma once
// Where signed messages go. The inbound session drives one UpstreamTransaction per client
// transaction with transparent-proxy semantics: MAIL and each RCPT are passed on as the client sends
// them, their replies go back to the client, and the client's final answer to DATA is the upstream's.
//
// Threading: every method is called on the session's strand, and every callback is invoked on the
// executor given to Upstream::begin (never inline from within the call).
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "upstream/message_spool.hpp"
#include "upstream/smtp_reply.hpp"

namespace dkr::upstream {

using ReplyHandler = std::function<void(SmtpReply)>;

struct OutboundMessage {
  std::string prepend;                          // DKIM-Signature and Received fields, CRLF-terminated
  std::shared_ptr<const MessageSpool> content;  // the client's message, unstuffed, CRLF
};

class UpstreamTransaction {
 public:
  virtual ~UpstreamTransaction() = default;
  // Arguments exactly as the client sent them after "MAIL FROM:" / "RCPT TO:" (address and params).
  virtual void mail_from(std::string args, ReplyHandler done) = 0;
  virtual void rcpt_to(std::string args, ReplyHandler done) = 0;
  // The client's DATA was accepted (after at least one recipient): an upstream may open its own
  // DATA phase now, so that the message goes out as soon as it is signed instead of one round
  // trip later. Nothing is delivered until data(); abort() still delivers nothing.
  virtual void prepare_data() {}
  // Sends the message (dot-stuffed on the wire) and returns the upstream's final reply. A reply
  // of 2xx means the upstream accepted responsibility; anything else is relayed to the client.
  virtual void data(OutboundMessage message, ReplyHandler done) = 0;
  // The client reset, quit or vanished: abandon the transaction (RSET upstream, or close) such that
  // nothing is delivered. Safe to call at any time, including while a call is pending; pending
  // handlers are then still invoked (with a 4xx) so owners can release state.
  virtual void abort() = 0;
};

class Upstream {
 public:
  virtual ~Upstream() = default;
  // Opens (or takes from a pool) a connection ready for a transaction. On failure the handler gets
  // nullptr and a reply to give the client (4.4.x).
  using BeginHandler = std::function<void(std::unique_ptr<UpstreamTransaction>, SmtpReply)>;
  virtual void begin(boost::asio::any_io_executor executor, BeginHandler done) = 0;
  // Whether the upstream extension list offered SMTPUTF8 (known after the first connection).
  virtual bool offers_smtputf8() const = 0;
  // For readiness probes: could the last attempt reach the upstream?
  virtual bool reachable() const = 0;
  // Called by the relay server once its threads have stopped and before its io_contexts go away:
  // idle pooled connections whose sockets live there must be handed to those io_contexts now.
  virtual void release_idle() {}
};

}  // namespace dkr::upstream
