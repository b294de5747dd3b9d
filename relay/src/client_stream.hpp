#pragma once
// The client connection: plain TCP until STARTTLS, TLS over the same socket afterwards. The socket
// carries its strand as a concrete type: through the type-erased any_io_executor each read, write
// and timer wait allocated a fresh copy of the strand (bench/relay/README.md).
#include <memory>
#include <optional>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>

namespace dkr::relay {

class ClientStream {
 public:
  using tcp = boost::asio::ip::tcp;
  using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;
  using Socket = boost::asio::basic_stream_socket<tcp, Strand>;

  explicit ClientStream(Socket socket) : plain_(std::move(socket)) {}

  Socket& socket() { return tls_ ? tls_->next_layer() : plain_; }
  bool tls() const { return tls_.has_value(); }

  template <class Handler>
  void async_read_some(boost::asio::mutable_buffer buffer, Handler&& handler) {
    if (tls_)
      tls_->async_read_some(buffer, std::forward<Handler>(handler));
    else
      plain_.async_read_some(buffer, std::forward<Handler>(handler));
  }

  template <class Handler>
  void async_write(boost::asio::const_buffer buffer, Handler&& handler) {
    if (tls_)
      boost::asio::async_write(*tls_, buffer, std::forward<Handler>(handler));
    else
      boost::asio::async_write(plain_, buffer, std::forward<Handler>(handler));
  }

  // Moves the socket under a TLS layer and runs the server handshake.
  template <class Handler>
  void async_start_tls(boost::asio::ssl::context& context, Handler&& handler) {
    tls_.emplace(std::move(plain_), context);
    tls_->async_handshake(boost::asio::ssl::stream_base::server, std::forward<Handler>(handler));
  }

  void cancel() {
    boost::system::error_code ignored;
    socket().cancel(ignored);
  }

  // No TLS close_notify: a client that quit or misbehaved gets no further round trip.
  void close() {
    boost::system::error_code ignored;
    socket().shutdown(Socket::shutdown_both, ignored);
    socket().close(ignored);
  }

 private:
  Socket plain_;
  std::optional<boost::asio::ssl::stream<Socket>> tls_;
};

}  // namespace dkr::relay
