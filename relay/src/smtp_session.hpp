#pragma once
// One inbound SMTP connection (RFC 5321 with PIPELINING, SIZE, 8BITMIME, ENHANCEDSTATUSCODES,
// STARTTLS, AUTH PLAIN/LOGIN, SMTPUTF8). Everything runs on the socket's strand.
//
// Input is processed from a buffer, one command at a time, so pipelined commands are answered in
// order; replies collect in an output buffer that is written when the input buffer holds no
// complete command, when DATA needs its 354 seen, or before closing (RFC 2920 §3.2). While an
// upstream call, an AUTH check or a signature on the signing pool is pending, nothing is read or
// processed.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/basic_waitable_timer.hpp>

#include "client_stream.hpp"
#include "relay/smtp_command.hpp"
#include "relay_transaction.hpp"
#include "session_context.hpp"

namespace dkr::relay {

class SmtpSession : public std::enable_shared_from_this<SmtpSession> {
 public:
  // A connection over the total or per-IP limit gets 421 at once and is closed.
  SmtpSession(std::shared_ptr<SessionContext> context, ClientStream::Socket socket, std::uint64_t id);
  ~SmtpSession();
  SmtpSession(const SmtpSession&) = delete;
  SmtpSession& operator=(const SmtpSession&) = delete;

  void start();
  // Both may be called from any thread.
  void request_shutdown();  // finish the current transaction, then 421 and close
  void close();             // now

  // Stress mode (stress_mode.hpp); these too may be called from any thread.
  void stress_changed();  // a wait in progress gets the timeouts of the current mode
  // Since when the session has been waiting for the client's input (DATA: since it fell behind
  // min_data_rate); nullopt while it is not waiting for the client.
  std::optional<std::chrono::steady_clock::time_point> stalled_since() const;
  bool evict();  // closes a stalled session as on a timeout; false when already claimed

 private:
  enum class Phase { Command, AuthPlain, AuthLoginUser, AuthLoginPassword, Data, Closing };
  enum class Step { Continue, NeedInput, Flush, Pending };
  using Handler = Step (SmtpSession::*)(const SmtpCommand&);

  // The driver: processes buffered input until it needs I/O or waits for something.
  void advance();
  Step step();
  Step process_line(std::string_view line);
  Step dispatch(const SmtpCommand& command);
  void read_more();
  void write_out(std::function<void()> next);
  bool write_now();  // plaintext: sends out_ at once when the socket takes it all
  std::chrono::steady_clock::time_point read_deadline() const;  // of the wait for client input
  void arm_read_timer();
  void arm_timer(std::chrono::milliseconds timeout, bool on_read);
  void arm_deadline(std::chrono::steady_clock::time_point deadline, bool on_read);
  void disarm_timer();
  void wait_timer(std::chrono::steady_clock::time_point expiry);
  void on_timer();
  void on_timeout();
  void close_now();

  Step on_helo(const SmtpCommand& command);
  Step on_ehlo(const SmtpCommand& command);
  Step on_mail(const SmtpCommand& command);
  Step on_rcpt(const SmtpCommand& command);
  Step on_data(const SmtpCommand& command);
  Step on_rset(const SmtpCommand& command);
  Step on_noop(const SmtpCommand& command);
  Step on_quit(const SmtpCommand& command);
  Step on_help(const SmtpCommand& command);
  Step on_vrfy(const SmtpCommand& command);
  Step on_expn(const SmtpCommand& command);
  Step on_starttls(const SmtpCommand& command);
  Step on_auth(const SmtpCommand& command);

  // AUTH: smtp_auth.cpp.
  Step auth_line(std::string_view line);
  Step check_credentials(std::string user, std::string authzid, std::string password);
  // 535, or 421 once this user failed from this address more than max_bad_commands times.
  void auth_failed(std::uint32_t failures);
  bool auth_offered() const;

  Step finish_data();
  // After the end of data (and the signatures): a local answer, or the message goes upstream.
  Step hand_over(RelayTransaction::Outcome outcome);
  void data_reply(SmtpReply reply, std::string_view detail);
  void end_transaction(TransactionResult result);
  bool relay_allowed() const;
  std::string received_field() const;

  void reply(SmtpReply reply);
  void reply(int code, std::string enhanced, std::string text);
  bool count_bad_command();  // true when the limit is reached (the session then closes)

  std::shared_ptr<SessionContext> context_;
  const RelaySettings& settings_;
  ClientStream stream_;
  using Timer =
      boost::asio::basic_waitable_timer<std::chrono::steady_clock, boost::asio::wait_traits<std::chrono::steady_clock>,
                                        ClientStream::Strand>;
  Timer timer_;
  Timer auth_delay_;  // AUTH failure back-off before the 535 of a failed check
  std::uint64_t id_;
  std::string id_text_;
  bool admitted_;
  boost::asio::ip::address remote_;
  std::string remote_text_;

  Phase phase_ = Phase::Command;
  std::string in_;
  std::string out_;
  std::string writing_;
  std::array<char, 16384> read_buffer_{};
  // DATA bytes just read into read_buffer_ while in_ was empty: parsed where they lie, and only
  // what the reader leaves (the commands after the final dot) is copied into in_.
  std::string_view fresh_data_;
  // A large message is read in bigger pieces: once a DATA phase has brought data_buffer_after
  // bytes, reads go to this buffer (freed at the end of DATA, so idle connections stay small).
  // 16 KiB reads cost a read, a spill write and a reactor poll per 16 KiB: 190 system calls per MB.
  static constexpr std::size_t data_buffer_after = 64 * 1024;
  static constexpr std::size_t data_buffer_size = 128 * 1024;
  std::unique_ptr<char[]> data_buffer_;
  bool discarding_long_line_ = false;
  bool closed_ = false;
  bool timed_out_ = false;
  bool timer_on_read_ = false;
  // When the command line being received began: set at the first read for a line and kept across
  // partial reads, so that a client dribbling a byte at a time (slowloris) cannot hold a connection
  // open past the command/idle timeout counted from there.
  std::optional<std::chrono::steady_clock::time_point> line_started_;
  std::chrono::steady_clock::time_point wait_started_;  // the current read
  std::atomic<std::int64_t> stalled_since_{0};          // steady_clock ticks; 0: not waiting on the client
  std::atomic<bool> evicting_{false};
  // DATA phase: when it began and how much has arrived, for the minimum transfer rate.
  std::chrono::steady_clock::time_point data_started_;
  std::uint64_t data_received_ = 0;
  // The timeout is a deadline checked lazily: arming and disarming only set these, and timer_ is
  // waited on again only when the deadline comes earlier than its pending wait. Re-arming the
  // timer for every read and write cost a cancelled wait (a handler and an epoll_wait) per command.
  std::chrono::steady_clock::time_point deadline_;
  bool deadline_armed_ = false;
  std::optional<std::chrono::steady_clock::time_point> timer_expiry_;  // of the pending wait
  std::uint64_t timer_generation_ = 0;                                 // of the pending wait
  bool shutdown_requested_ = false;
  bool reading_ = false;

  std::string helo_;
  bool esmtp_ = false;
  std::optional<std::string> auth_user_;
  std::string auth_pending_user_;  // LOGIN: the user name while waiting for the password
  std::uint32_t bad_commands_ = 0;
  std::uint32_t messages_ = 0;    // transactions that reached the end of DATA
  bool refused_locally_ = false;  // a message was refused here: see RelayTransaction::start_data
  std::uint64_t transaction_counter_ = 0;
  std::shared_ptr<RelayTransaction> txn_;
};

}  // namespace dkr::relay
