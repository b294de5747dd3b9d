#pragma once
// One SMTP client connection to the upstream. Its coroutines must be awaited from a single strand
// at a time (the current owner: a transaction, or the pool while retiring it); I/O completions
// resume on the awaiting coroutine's executor.
#include <utility>  // before Boost 1.74 awaitable.hpp, which uses std::exchange without it
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/basic_waitable_timer.hpp>

#include "upstream/smtp_reply.hpp"
#include "upstream/upstream.hpp"
#include "upstream/upstream_extensions.hpp"
#include "upstream/upstream_settings.hpp"
#include "upstream/upstream_strand.hpp"

namespace dkr::upstream {

// How an exchange ended at the transport level. Unless `ok`, `reply` is made up locally (4xx).
enum class UpstreamTransport { ok, closed, timed_out, failed };

struct UpstreamOutcome {
  SmtpReply reply;
  UpstreamTransport transport = UpstreamTransport::ok;
};

class UpstreamConnection : public std::enable_shared_from_this<UpstreamConnection> {
 public:
  UpstreamConnection(UpstreamIo io, std::shared_ptr<const SmtpUpstreamSettings> settings,
                     std::shared_ptr<boost::asio::ssl::context> tls);

  // Connect, greeting, EHLO (or HELO), STARTTLS and AUTH as the settings say. A 2xx reply means
  // ready for MAIL; anything else is what to tell the client.
  UpstreamTask<UpstreamOutcome> open();
  // Sends one command line (no CRLF) and reads its reply. `secret` keeps it out of the logs.
  UpstreamTask<UpstreamOutcome> command(std::string line, bool secret = false);
  // RFC 2920: sends several command lines in one write and reads their replies in order. Only for
  // an upstream that offers PIPELINING. After a transport failure the remaining lines all get it.
  UpstreamTask<std::vector<UpstreamOutcome>> pipelined(const std::vector<std::string>& lines);
  // The same lines as pipelined() when the upstream offers PIPELINING, else one command at a time
  // (stopping, with fewer outcomes than lines, once `abandoned` is set).
  UpstreamTask<std::vector<UpstreamOutcome>> commands(const std::vector<std::string>& lines, const bool& abandoned);
  // After a 354: streams prepend + content dot-stuffed, the terminator, and reads the final reply.
  // Checks `abandoned` between chunks so an abort stops before the terminator is ever written.
  UpstreamTask<UpstreamOutcome> send_message(const OutboundMessage& message, const bool& abandoned);
  // True when the upstream said something unasked or hung up (for instance a 421 timeout while
  // it waited for the message after 354). Looks without waiting.
  bool peer_spoke_or_closed() const;
  // Polite goodbye (QUIT, bounded wait), then close.
  UpstreamTask<void> quit();
  // The executor of the io_context that does the socket's I/O.
  const UpstreamIo& executor() const { return io_; }
  // Moves an idle connection (no operation pending, no owner but the caller) to `io`'s reactor,
  // keeping its TLS state, so that its I/O completes on the caller's thread instead of waking the
  // thread that opened it (two cross-thread hops per upstream read or write). False, and closed,
  // when the socket cannot be moved. asio's ssl::stream keeps two internal timers of the first
  // io_context, only waited on when a read and a write overlap (never here): every io_context a
  // connection has lived on must therefore be shut down before any of them is destroyed.
  bool move_to(UpstreamIo io);
  // Closes at once; pending operations complete with errors and the connection is unusable.
  void close();
  // Between two owners (given back to the pool): cancels the deadline's pending wait, which is
  // bound to the last owner's strand.
  void park();

  bool usable() const { return usable_; }
  bool tls_active() const { return tls_active_; }
  const UpstreamExtensions& extensions() const { return extensions_; }

 private:
  UpstreamTask<UpstreamOutcome> connect();
  UpstreamTask<UpstreamOutcome> hello();
  UpstreamTask<UpstreamOutcome> start_tls();
  UpstreamTask<UpstreamOutcome> authenticate();
  UpstreamTask<UpstreamOutcome> read_reply();
  UpstreamTask<UpstreamOutcome> write(std::string_view bytes);
  UpstreamTask<UpstreamOutcome> write(const std::vector<std::string_view>& pieces);  // gathered
  UpstreamTask<UpstreamOutcome> send_spill_file(const OutboundMessage& message, const bool& abandoned);
  // The transaction was abandoned while the message was going out: a connection stopped halfway
  // through DATA cannot be reused, so it is closed.
  UpstreamOutcome abandon_message();

  // The deadline closes the socket when it passes; disarm() before looking at the result.
  void arm(std::chrono::milliseconds timeout, const UpstreamStrand& strand);
  void disarm();
  void wait_for_deadline(const UpstreamStrand& strand);
  UpstreamOutcome transport_failure(const boost::system::error_code& ec, std::string_view doing);

  UpstreamIo io_;
  std::shared_ptr<const SmtpUpstreamSettings> settings_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  boost::asio::ip::basic_resolver<boost::asio::ip::tcp, UpstreamIo> resolver_;
  boost::asio::ssl::stream<boost::asio::basic_stream_socket<boost::asio::ip::tcp, UpstreamIo>> stream_;
  boost::asio::basic_waitable_timer<std::chrono::steady_clock, boost::asio::wait_traits<std::chrono::steady_clock>,
                                    UpstreamIo>
      deadline_;
  // Read by a stale wait's handler on the previous owner's strand (park), hence atomic.
  std::atomic<std::uint64_t> deadline_generation_{0};
  std::chrono::steady_clock::time_point deadline_at_;
  bool deadline_armed_ = false;    // between arm() and disarm()
  bool deadline_waiting_ = false;  // a wait of the current generation is pending
  bool timed_out_ = false;
  bool usable_ = false;
  bool tls_active_ = false;
  std::string input_;  // received bytes not yet parsed (e.g. a pipelined reply)
  UpstreamExtensions extensions_;
  std::string peer_;  // for logs
};

}  // namespace dkr::upstream
