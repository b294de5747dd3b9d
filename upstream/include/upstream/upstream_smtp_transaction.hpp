#pragma once
// One client transaction carried over one upstream connection. The public object is owned by the
// session; the work happens in a shared core on its own strand, so the session may drop the
// object at any time (which abandons the transaction like abort(), without calling its handlers).
#include <utility>  // before Boost 1.74 awaitable.hpp, which uses std::exchange without it
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "upstream/upstream.hpp"
#include "upstream/upstream_connection.hpp"
#include "upstream/upstream_pool.hpp"
#include "upstream/upstream_strand.hpp"

namespace dkr::upstream {

class UpstreamTransactionCore : public std::enable_shared_from_this<UpstreamTransactionCore> {
 public:
  UpstreamTransactionCore(UpstreamStrand strand, boost::asio::any_io_executor client,
                          std::shared_ptr<UpstreamPool> pool, std::shared_ptr<UpstreamConnection> connection,
                          bool reused);

  enum class Kind { mail, rcpt, open_data, data };
  struct Step {
    Kind kind;
    std::string args;
    OutboundMessage message;
    ReplyHandler done;
  };
  // Both run on the strand.
  void enqueue(Step step);
  void abandon(bool notify);

  const UpstreamStrand& strand() const { return strand_; }

 private:
  UpstreamTask<void> work();
  UpstreamTask<void> release();
  UpstreamTask<UpstreamOutcome> send_mail(std::string args);
  bool pooled_connection_dropped(const UpstreamOutcome& first, bool first_command) const;
  UpstreamTask<std::optional<UpstreamOutcome>> reconnect(const UpstreamOutcome& dropped);
  bool envelope_batch_ready() const;
  UpstreamTask<void> send_envelope_batch();
  UpstreamTask<void> open_data();
  UpstreamTask<std::optional<UpstreamOutcome>> replay_envelope();
  UpstreamTask<UpstreamOutcome> send_data(OutboundMessage message);
  UpstreamTask<UpstreamOutcome> send_message(OutboundMessage message);
  void reply(ReplyHandler done, SmtpReply reply);

  UpstreamStrand strand_;
  boost::asio::any_io_executor client_;
  std::shared_ptr<UpstreamPool> pool_;
  std::shared_ptr<UpstreamConnection> connection_;
  bool reused_;
  std::deque<Step> queue_;
  std::vector<ReplyHandler> in_flight_;  // the handlers of the step(s) being worked on
  bool working_ = false;
  bool abandoned_ = false;
  bool released_ = false;
  bool anything_sent_ = false;               // a command went out on this connection for this transaction
  bool needs_reset_ = false;                 // MAIL went out: RSET before the connection is reused
  bool data_in_progress_ = false;            // DATA went out and no final reply yet: only closing is safe
  std::vector<std::string> envelope_;        // MAIL and the accepted RCPT lines, for a replay
  std::optional<UpstreamOutcome> early_go_;  // the reply to a DATA sent by open_data()
  std::chrono::steady_clock::time_point early_go_at_;
};

class SmtpUpstreamTransaction final : public UpstreamTransaction {
 public:
  explicit SmtpUpstreamTransaction(std::shared_ptr<UpstreamTransactionCore> core);
  ~SmtpUpstreamTransaction() override;
  SmtpUpstreamTransaction(const SmtpUpstreamTransaction&) = delete;
  SmtpUpstreamTransaction& operator=(const SmtpUpstreamTransaction&) = delete;

  void mail_from(std::string args, ReplyHandler done) override;
  void rcpt_to(std::string args, ReplyHandler done) override;
  void prepare_data() override;
  void data(OutboundMessage message, ReplyHandler done) override;
  void abort() override;

 private:
  void enqueue(UpstreamTransactionCore::Step step);
  std::shared_ptr<UpstreamTransactionCore> core_;
};

}  // namespace dkr::upstream
