#include "upstream/upstream_connection.hpp"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <array>
#include <string>
#include <utility>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <spdlog/spdlog.h>

#include "common/base64.hpp"
#include "upstream/upstream_dot_stuffer.hpp"
#include "upstream/upstream_reply_parser.hpp"
#include "upstream_tls_sessions.hpp"

namespace dkr::upstream {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

constexpr std::size_t message_chunk_size = 64 * 1024;
// asio hands writev at most 64 buffers at a time.
constexpr std::size_t gather_limit = 64;

UpstreamOutcome ok_outcome(SmtpReply reply = {}) { return {std::move(reply), UpstreamTransport::ok}; }

UpstreamOutcome local_failure(int code, std::string enhanced, std::string text,
                              UpstreamTransport transport = UpstreamTransport::failed) {
  return {make_reply(code, std::move(enhanced), std::move(text)), transport};
}

bool means_closed(const error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_aborted || ec == asio::error::not_connected ||
         ec == asio::error::bad_descriptor || ec == asio::ssl::error::stream_truncated;
}

// sendfile(2) has no MSG_NOSIGNAL: writing to a socket the peer closed raises SIGPIPE, whose default
// action ends the process. The signal is blocked on this thread for the call and then taken off
// the thread's pending set, whatever the call returned: a call that sent part of its bytes before
// the peer's reset returns that count and still raised it (faults.spilled_send died of it).
ssize_t sendfile_without_sigpipe(int out, int in, off_t* offset, std::size_t count) {
  sigset_t pipe;
  sigset_t old;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, &old);
  const ssize_t n = ::sendfile(out, in, offset, count);
  const int saved = errno;
  const timespec now{};
  while (sigtimedwait(&pipe, nullptr, &now) < 0 && errno == EINTR) {
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = saved;
  return n;
}

bool is_ip_literal(const std::string& host) {
  error_code ec;
  (void)asio::ip::make_address(host, ec);
  return !ec;
}

void wipe(std::string& secret) {
  if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
  secret.clear();
}

// Setup failures are the relay's problem (configuration, upstream policy), not the message's:
// the client gets a transient reply so it keeps the message queued.
UpstreamOutcome setup_refused(const SmtpReply& upstream, std::string_view step, std::string enhanced = "4.4.0") {
  if (upstream.transient()) return ok_outcome(upstream);
  return {make_reply(451, std::move(enhanced), "upstream refused " + std::string(step) + ": " + upstream.first_line()),
          UpstreamTransport::ok};
}

}  // namespace

UpstreamConnection::UpstreamConnection(UpstreamIo io, std::shared_ptr<const SmtpUpstreamSettings> settings,
                                       std::shared_ptr<asio::ssl::context> tls)
    : io_(io),
      settings_(std::move(settings)),
      tls_(std::move(tls)),
      resolver_(io),
      stream_(io, *tls_),
      deadline_(io),
      peer_(settings_->host + ":" + std::to_string(settings_->port)) {}

bool UpstreamConnection::move_to(UpstreamIo io) {
  if (io == io_) return true;
  error_code ec;
  auto& socket = stream_.next_layer();
  const asio::ip::tcp::endpoint local = socket.local_endpoint(ec);
  if (!ec) {
    // release() takes the descriptor out of the old reactor; assign() registers it with the new one.
    const auto fd = socket.release(ec);
    if (!ec) {
      asio::basic_stream_socket<asio::ip::tcp, UpstreamIo> moved(io);
      moved.assign(local.protocol(), fd, ec);
      if (ec) {
        ::close(fd);
      } else {
        socket = std::move(moved);
        deadline_ = decltype(deadline_)(io);
        resolver_ = decltype(resolver_)(io);
        io_ = io;
        return true;
      }
    }
  }
  spdlog::warn("upstream {}: cannot move the idle connection to another thread: {}", peer_, ec.message());
  close();
  return false;
}

void UpstreamConnection::arm(std::chrono::milliseconds timeout, const UpstreamStrand& strand) {
  timed_out_ = false;
  deadline_at_ = std::chrono::steady_clock::now() + timeout;
  deadline_armed_ = true;
  // One wait stays pending across the commands of an owner and is moved only when a deadline comes
  // before it: re-arming and cancelling per command cost a timerfd update and a completion handler
  // (with its turn of the event loop) each, about a dozen per relayed message.
  if (deadline_waiting_ && deadline_.expiry() <= deadline_at_) return;
  wait_for_deadline(strand);
}

void UpstreamConnection::wait_for_deadline(const UpstreamStrand& strand) {
  const std::uint64_t generation = ++deadline_generation_;
  deadline_waiting_ = true;
  deadline_.expires_at(deadline_at_);  // a pending wait completes as stale
  deadline_.async_wait(asio::bind_executor(strand, [weak = weak_from_this(), generation, strand](const error_code& ec) {
    auto self = weak.lock();
    if (!self || generation != self->deadline_generation_.load()) return;
    self->deadline_waiting_ = false;
    if (ec || !self->deadline_armed_) return;
    if (std::chrono::steady_clock::now() < self->deadline_at_) {
      self->wait_for_deadline(strand);  // armed again since this wait began, for later
      return;
    }
    self->timed_out_ = true;
    self->close();
  }));
}

void UpstreamConnection::disarm() { deadline_armed_ = false; }

void UpstreamConnection::park() {
  deadline_armed_ = false;
  if (!deadline_waiting_) return;
  ++deadline_generation_;  // the cancelled wait's handler, on the old owner's strand, touches nothing
  deadline_waiting_ = false;
  deadline_.cancel();
}

void UpstreamConnection::close() {
  usable_ = false;
  park();
  error_code ignored;
  resolver_.cancel();
  stream_.lowest_layer().close(ignored);
}

UpstreamOutcome UpstreamConnection::abandon_message() {
  close();
  return local_failure(451, "4.3.0", "transaction aborted");
}

UpstreamOutcome UpstreamConnection::transport_failure(const error_code& ec, std::string_view doing) {
  const bool timed_out = timed_out_;
  close();
  if (timed_out) {
    spdlog::warn("upstream {}: timed out {}", peer_, doing);
    return local_failure(451, "4.4.2", "upstream timed out " + std::string(doing), UpstreamTransport::timed_out);
  }
  if (means_closed(ec)) {
    spdlog::warn("upstream {}: connection closed {}", peer_, doing);
    return local_failure(451, "4.4.2", "upstream closed the connection " + std::string(doing),
                         UpstreamTransport::closed);
  }
  spdlog::warn("upstream {}: {} {}", peer_, ec.message(), doing);
  return local_failure(451, "4.4.2", "upstream connection failed " + std::string(doing) + ": " + ec.message());
}

UpstreamTask<UpstreamOutcome> UpstreamConnection::write(std::string_view bytes) {
  const auto strand = co_await asio::this_coro::executor;
  error_code ec;
  arm(settings_->command_timeout, strand);
  if (tls_active_) {
    co_await asio::async_write(stream_, asio::buffer(bytes), asio::redirect_error(use_upstream_task, ec));
  } else {
    co_await asio::async_write(stream_.next_layer(), asio::buffer(bytes), asio::redirect_error(use_upstream_task, ec));
  }
  disarm();
  if (ec) co_return transport_failure(ec, "while sending");
  co_return ok_outcome();
}

UpstreamTask<UpstreamOutcome> UpstreamConnection::write(const std::vector<std::string_view>& pieces) {
  const auto strand = co_await asio::this_coro::executor;
  std::vector<asio::const_buffer> buffers;
  buffers.reserve(pieces.size());
  for (std::string_view piece : pieces) buffers.emplace_back(piece.data(), piece.size());
  error_code ec;
  arm(settings_->command_timeout, strand);
  if (tls_active_) {
    co_await asio::async_write(stream_, buffers, asio::redirect_error(use_upstream_task, ec));
  } else {
    co_await asio::async_write(stream_.next_layer(), buffers, asio::redirect_error(use_upstream_task, ec));
  }
  disarm();
  if (ec) co_return transport_failure(ec, "while sending");
  co_return ok_outcome();
}

UpstreamTask<UpstreamOutcome> UpstreamConnection::read_reply() {
  const auto strand = co_await asio::this_coro::executor;
  UpstreamReplyParser parser;
  std::array<char, 4096> buffer;
  // One deadline for the whole reply: an upstream trickling lines cannot hold us forever.
  arm(settings_->command_timeout, strand);
  for (;;) {
    if (!input_.empty()) {
      const std::size_t used = parser.feed(input_);
      input_.erase(0, used);
      if (parser.state() == UpstreamReplyParser::State::complete) {
        disarm();
        SmtpReply reply = parser.take();
        spdlog::debug("upstream {}: < {}", peer_, reply.first_line());
        if (reply.code == 421) usable_ = false;  // the upstream is closing the channel
        co_return ok_outcome(std::move(reply));
      }
      if (parser.state() == UpstreamReplyParser::State::malformed) {
        disarm();
        close();
        spdlog::warn("upstream {}: malformed reply: {}", peer_, parser.problem());
        co_return local_failure(451, "4.5.0", "malformed reply from upstream: " + parser.problem());
      }
    }
    error_code ec;
    std::size_t n = 0;
    if (tls_active_) {
      n = co_await stream_.async_read_some(asio::buffer(buffer), asio::redirect_error(use_upstream_task, ec));
    } else {
      n = co_await stream_.next_layer().async_read_some(asio::buffer(buffer),
                                                        asio::redirect_error(use_upstream_task, ec));
    }
    if (ec) {
      disarm();
      co_return transport_failure(ec, "while waiting for a reply");
    }
    input_.append(buffer.data(), n);
  }
}

UpstreamTask<UpstreamOutcome> UpstreamConnection::command(std::string line, bool secret) {
  if (!usable_) {
    co_return local_failure(451, "4.4.2", "connection to upstream lost", UpstreamTransport::closed);
  }
  if (secret) {
    spdlog::debug("upstream {}: > (credentials)", peer_);
  } else {
    line = for_upstream(std::move(line), extensions_);
    spdlog::debug("upstream {}: > {}", peer_, line);
  }
  line += "\r\n";
  UpstreamOutcome sent = co_await write(line);
  if (secret) wipe(line);
  if (sent.transport != UpstreamTransport::ok) co_return sent;
  co_return co_await read_reply();
}

UpstreamTask<std::vector<UpstreamOutcome>> UpstreamConnection::pipelined(const std::vector<std::string>& lines) {
  std::vector<UpstreamOutcome> outcomes;
  outcomes.reserve(lines.size());
  auto fail_rest = [&](const UpstreamOutcome& failure) {
    while (outcomes.size() < lines.size()) outcomes.push_back(failure);
  };
  if (!usable_) {
    fail_rest(local_failure(451, "4.4.2", "connection to upstream lost", UpstreamTransport::closed));
    co_return outcomes;
  }
  std::string wire;
  for (const std::string& original : lines) {
    const std::string line = for_upstream(original, extensions_);
    spdlog::debug("upstream {}: > {}", peer_, line);
    wire += line;
    wire += "\r\n";
  }
  UpstreamOutcome sent = co_await write(wire);
  if (sent.transport != UpstreamTransport::ok) {
    fail_rest(sent);
    co_return outcomes;
  }
  while (outcomes.size() < lines.size()) {
    UpstreamOutcome reply = co_await read_reply();
    if (reply.transport != UpstreamTransport::ok) {
      fail_rest(reply);
      break;
    }
    outcomes.push_back(std::move(reply));
  }
  co_return outcomes;
}

UpstreamTask<std::vector<UpstreamOutcome>> UpstreamConnection::commands(const std::vector<std::string>& lines,
                                                                        const bool& abandoned) {
  if (extensions_.pipelining) co_return co_await pipelined(lines);
  std::vector<UpstreamOutcome> outcomes;
  for (const std::string& line : lines) {
    if (abandoned) break;
    outcomes.push_back(co_await command(line));
  }
  co_return outcomes;
}

UpstreamTask<UpstreamOutcome> UpstreamConnection::connect() {
  const auto strand = co_await asio::this_coro::executor;
  error_code ec;
  arm(settings_->connect_timeout, strand);
  auto endpoints = co_await resolver_.async_resolve(settings_->host, std::to_string(settings_->port),
                                                    asio::redirect_error(use_upstream_task, ec));
  if (!ec) {
    co_await asio::async_connect(stream_.lowest_layer(), endpoints, asio::redirect_error(use_upstream_task, ec));
  }
  disarm();
  if (ec) {
    const bool timed_out = timed_out_;
    close();
    const std::string why = timed_out ? std::string("timed out") : ec.message();
    spdlog::warn("upstream {}: cannot connect: {}", peer_, why);
    co_return local_failure(451, "4.4.1", "cannot connect to upstream: " + why,
                            timed_out ? UpstreamTransport::timed_out : UpstreamTransport::failed);
  }
  // Commands and the final "." are small writes that wait for a reply: without TCP_NODELAY, Nagle
  // holds them until the upstream's delayed ACK (~40 ms per message, measured by bench/relay).
  error_code ignored;
  stream_.lowest_layer().set_option(asio::ip::tcp::no_delay(true), ignored);
  usable_ = true;
  co_return ok_outcome();
}

UpstreamTask<UpstreamOutcome> UpstreamConnection::hello() {
  UpstreamOutcome ehlo = co_await command("EHLO " + settings_->helo_name);
  if (ehlo.transport != UpstreamTransport::ok) co_return ehlo;
  if (ehlo.reply.code == 250) {
    extensions_ = parse_ehlo_reply(ehlo.reply);
    co_return ehlo;
  }
  if (!ehlo.reply.permanent()) co_return setup_refused(ehlo.reply, "EHLO");
  // An old server without ESMTP: HELO, and no extensions.
  UpstreamOutcome helo = co_await command("HELO " + settings_->helo_name);
  if (helo.transport != UpstreamTransport::ok) co_return helo;
  if (helo.reply.code != 250) co_return setup_refused(helo.reply, "HELO");
  extensions_ = UpstreamExtensions{};
  co_return helo;
}

UpstreamTask<UpstreamOutcome> UpstreamConnection::start_tls() {
  const auto strand = co_await asio::this_coro::executor;
  UpstreamOutcome go = co_await command("STARTTLS");
  if (go.transport != UpstreamTransport::ok) co_return go;
  if (go.reply.code != 220) co_return setup_refused(go.reply, "STARTTLS", "4.7.0");
  // Bytes after the 220 would be plaintext injected ahead of the TLS session (CVE-2011-0411).
  if (!input_.empty()) {
    close();
    co_return local_failure(451, "4.7.0", "upstream sent unexpected data after STARTTLS");
  }

  SSL* ssl = stream_.native_handle();
  const bool ip_literal = is_ip_literal(settings_->host);
  if (!ip_literal) SSL_set_tlsext_host_name(ssl, settings_->host.c_str());
  if (settings_->verify_certificate) {
    stream_.set_verify_mode(asio::ssl::verify_peer);
    if (settings_->verify_hostname) {
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      const int set = ip_literal ? X509_VERIFY_PARAM_set1_ip_asc(param, settings_->host.c_str())
                                 : X509_VERIFY_PARAM_set1_host(param, settings_->host.c_str(), 0);
      if (set != 1) {
        close();
        co_return local_failure(451, "4.7.0", "cannot set up upstream hostname verification");
      }
    }
  } else {
    stream_.set_verify_mode(asio::ssl::verify_none);
  }

  offer_upstream_session(ssl);
  error_code ec;
  arm(settings_->command_timeout, strand);
  co_await stream_.async_handshake(asio::ssl::stream_base::client, asio::redirect_error(use_upstream_task, ec));
  disarm();
  if (ec) {
    if (timed_out_) co_return transport_failure(ec, "during the TLS handshake");
    const long verify = SSL_get_verify_result(ssl);
    std::string why = verify != X509_V_OK
                          ? std::string("certificate verification failed: ") + X509_verify_cert_error_string(verify)
                          : ec.message();
    close();
    spdlog::warn("upstream {}: TLS handshake failed: {}", peer_, why);
    co_return local_failure(451, "4.7.5", "TLS handshake with upstream failed: " + why);
  }
  tls_active_ = true;
  spdlog::debug("upstream {}: TLS established ({})", peer_, SSL_get_version(ssl));
  co_return go;
}

UpstreamTask<UpstreamOutcome> UpstreamConnection::authenticate() {
  if (!tls_active_ && settings_->starttls != StartTlsPolicy::None) {
    close();
    co_return local_failure(451, "4.7.0", "refusing to send upstream credentials without TLS");
  }
  UpstreamOutcome result;
  if (extensions_.offers_auth("PLAIN")) {
    std::string token;
    token.push_back('\0');
    token += settings_->username;
    token.push_back('\0');
    token += settings_->password;
    std::string line = "AUTH PLAIN " + base64_encode(token);
    wipe(token);
    result = co_await command(std::move(line), true);
  } else if (extensions_.offers_auth("LOGIN")) {
    result = co_await command("AUTH LOGIN");
    if (result.transport == UpstreamTransport::ok && result.reply.code == 334) {
      result = co_await command(base64_encode(settings_->username), true);
    }
    if (result.transport == UpstreamTransport::ok && result.reply.code == 334) {
      result = co_await command(base64_encode(settings_->password), true);
    }
  } else {
    close();
    co_return local_failure(451, "4.7.0", "upstream offers no supported AUTH mechanism (PLAIN, LOGIN)");
  }
  if (result.transport != UpstreamTransport::ok) co_return result;
  if (result.reply.code != 235) {
    close();
    co_return setup_refused(result.reply, "authentication", "4.7.0");
  }
  co_return result;
}

UpstreamTask<UpstreamOutcome> UpstreamConnection::open() {
  UpstreamOutcome step = co_await connect();
  if (step.transport != UpstreamTransport::ok) co_return step;

  step = co_await read_reply();
  if (step.transport != UpstreamTransport::ok) co_return step;
  if (step.reply.code != 220) {
    close();
    co_return setup_refused(step.reply, "the connection");
  }

  step = co_await hello();
  if (step.transport != UpstreamTransport::ok || step.reply.code != 250) {
    close();
    co_return step;
  }

  const StartTlsPolicy policy = settings_->starttls;
  if (policy == StartTlsPolicy::Required && !extensions_.starttls) {
    close();
    co_return local_failure(451, "4.7.0", "upstream does not offer STARTTLS");
  }
  if (policy != StartTlsPolicy::None && extensions_.starttls) {
    step = co_await start_tls();
    if (step.transport != UpstreamTransport::ok || !step.reply.positive()) {
      close();
      co_return step;
    }
    step = co_await hello();  // the extension list may differ under TLS
    if (step.transport != UpstreamTransport::ok || step.reply.code != 250) {
      close();
      co_return step;
    }
  }

  if (!settings_->username.empty()) {
    step = co_await authenticate();
    if (step.transport != UpstreamTransport::ok || step.reply.code != 235) {
      close();
      co_return step;
    }
  }
  spdlog::debug("upstream {}: ready{}", peer_, tls_active_ ? " (TLS)" : "");
  co_return ok_outcome(make_reply(250, "2.0.0", "upstream ready"));
}

UpstreamTask<UpstreamOutcome> UpstreamConnection::send_message(const OutboundMessage& message, const bool& abandoned) {
  UpstreamDotStuffer stuffer;
  // Content whose writer saw no line starting with '.' needs no stuffing: sent as it lies.
  const bool verbatim = message.content && message.content->no_dot_lines();
  if (auto blocks = message.content ? message.content->in_memory() : std::vector<std::string_view>{}) {
    // Held in memory (at most the spill threshold): one gather write of our fields, the message as
    // it lies in the spool and the terminator, without a stuffed copy of the message.
    std::vector<std::string_view> pieces;
    stuffer.append_pieces(message.prepend, pieces);
    for (std::string_view block : *blocks) {
      if (verbatim)
        stuffer.append_pieces_verbatim(block, pieces);
      else
        stuffer.append_pieces(block, pieces);
    }
    stuffer.finish_pieces(pieces);
    if (abandoned) co_return abandon_message();
    if (pieces.size() > gather_limit) {
      // Many dot-stuffed lines: a piece each side of every doubled dot. One copy into a contiguous
      // buffer costs less than writev's 64 pieces at a time (a system call and asio's bookkeeping
      // per batch: 2.8 M instructions per 1 MB message of dot lines, callgrind).
      std::size_t total = 0;
      for (std::string_view piece : pieces) total += piece.size();
      std::string wire;
      wire.reserve(total);
      for (std::string_view piece : pieces) wire.append(piece);
      UpstreamOutcome sent = co_await write(wire);
      if (sent.transport != UpstreamTransport::ok) co_return sent;
      co_return co_await read_reply();
    }
    UpstreamOutcome sent = co_await write(pieces);
    if (sent.transport != UpstreamTransport::ok) co_return sent;
    co_return co_await read_reply();
  }
  if (verbatim && !tls_active_ && message.content->spilled()) co_return co_await send_spill_file(message, abandoned);
  std::string wire;
  std::string chunk;
  stuffer.append(message.prepend, wire);
  std::uint64_t offset = 0;
  const std::uint64_t total = message.content->size();
  while (offset < total) {
    chunk.clear();
    if (Result<void> read = message.content->read(offset, message_chunk_size, chunk); !read) {
      close();  // without the terminator: the upstream discards the partial message
      spdlog::error("upstream {}: cannot read spooled message: {}", peer_, read.error().message);
      co_return local_failure(451, "4.3.0", "cannot read the spooled message");
    }
    if (chunk.empty()) break;  // checked below
    offset += chunk.size();
    if (verbatim) {
      // Sent from where it was read: a gather write of what is pending (our fields) and the chunk,
      // with the terminator after the last one, rather than a copy of the chunk into wire.
      std::vector<std::string_view> pieces;
      if (!wire.empty()) pieces.push_back(wire);
      stuffer.append_pieces_verbatim(chunk, pieces);
      if (offset == total) stuffer.finish_pieces(pieces);
      if (abandoned) co_return abandon_message();
      UpstreamOutcome sent = co_await write(pieces);
      if (sent.transport != UpstreamTransport::ok) co_return sent;
      wire.clear();
      if (offset == total) co_return co_await read_reply();
      continue;
    }
    if (verbatim)
      stuffer.append_verbatim(chunk, wire);
    else
      stuffer.append(chunk, wire);
    if (wire.size() >= message_chunk_size) {
      if (abandoned) co_return abandon_message();
      if (!wire.empty()) {
        UpstreamOutcome sent = co_await write(wire);
        if (sent.transport != UpstreamTransport::ok) co_return sent;
        wire.clear();
      }
    }
  }
  if (offset != total) {
    close();
    spdlog::error("upstream {}: spool returned {} of {} bytes", peer_, offset, total);
    co_return local_failure(451, "4.3.0", "the spooled message is incomplete");
  }
  stuffer.finish(wire);  // the tail and the terminator go out in one write
  if (abandoned) co_return abandon_message();
  UpstreamOutcome sent = co_await write(wire);
  if (sent.transport != UpstreamTransport::ok) co_return sent;
  co_return co_await read_reply();
}

// A spilled message that needs no dot-stuffing, to a plaintext upstream: the kernel copies it from
// the spill file's pages to the socket (sendfile), with no read into a buffer of ours and one
// system call per socket buffer's worth instead of a pread and a write per 64 KiB.
UpstreamTask<UpstreamOutcome> UpstreamConnection::send_spill_file(const OutboundMessage& message,
                                                                  const bool& abandoned) {
  const auto strand = co_await asio::this_coro::executor;
  const MessageSpool& content = *message.content;
  const std::uint64_t total = content.size();
  UpstreamDotStuffer stuffer;
  std::vector<std::string_view> head;
  stuffer.append_pieces(message.prepend, head);
  // The terminator depends on how the content ends: its last two bytes give the line state.
  std::string last;
  if (total > 0) {
    if (Result<void> read = content.read(total - std::min<std::uint64_t>(total, 2), 2, last); !read || last.empty()) {
      close();
      spdlog::error("upstream {}: cannot read spooled message: {}", peer_,
                    read ? std::string("short file") : read.error().message);
      co_return local_failure(451, "4.3.0", "cannot read the spooled message");
    }
  }
  std::vector<std::string_view> tail;
  stuffer.append_pieces_verbatim(last, tail);
  tail.clear();
  stuffer.finish_pieces(tail);
  if (abandoned) co_return abandon_message();
  if (!head.empty()) {
    UpstreamOutcome sent = co_await write(head);
    if (sent.transport != UpstreamTransport::ok) co_return sent;
  }
  auto& socket = stream_.next_layer();
  const int out = socket.native_handle();
  error_code ec;
  socket.native_non_blocking(true, ec);  // as asio's own asynchronous operations leave it
  if (ec) co_return transport_failure(ec, "while sending");
  off_t offset = 0;
  while (static_cast<std::uint64_t>(offset) < total) {
    if (abandoned) co_return abandon_message();
    const std::size_t left = static_cast<std::size_t>(std::min<std::uint64_t>(total - offset, 1u << 30));
    const ssize_t n = sendfile_without_sigpipe(out, content.spill_fd(), &offset, left);
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      arm(settings_->command_timeout, strand);
      co_await socket.async_wait(asio::socket_base::wait_write, asio::redirect_error(use_upstream_task, ec));
      disarm();
      if (ec) co_return transport_failure(ec, "while sending");
      continue;
    }
    if (n == 0) {  // the file is shorter than the spool says
      close();
      spdlog::error("upstream {}: spool returned {} of {} bytes", peer_, offset, total);
      co_return local_failure(451, "4.3.0", "the spooled message is incomplete");
    }
    co_return transport_failure(error_code(errno, boost::system::system_category()), "while sending");
  }
  UpstreamOutcome sent = co_await write(tail);
  if (sent.transport != UpstreamTransport::ok) co_return sent;
  co_return co_await read_reply();
}

bool UpstreamConnection::peer_spoke_or_closed() const {
  if (!usable_ || !input_.empty()) return true;
  pollfd watched{};
  watched.fd = const_cast<UpstreamConnection*>(this)->stream_.lowest_layer().native_handle();
  watched.events = POLLIN | POLLRDHUP;
  return ::poll(&watched, 1, 0) != 0;  // an error counts as spoken: the caller then starts afresh
}

UpstreamTask<void> UpstreamConnection::quit() {
  if (usable_) (void)co_await command("QUIT");
  close();
}

}  // namespace dkr::upstream
