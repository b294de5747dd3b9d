#pragma once
// One admin API connection (plain or TLS): read a request with limits and a deadline, hand it to
// the host, write the answer, repeat while keep-alive. Shaped after Beast's advanced_server_flex.
#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <spdlog/spdlog.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "admin/admin_settings.hpp"
#include "admin/api_response.hpp"

namespace dkr::admin {

// What a session needs from the server.
class SessionHost {
 public:
  virtual ~SessionHost() = default;
  virtual const AdminSettings& session_settings() const = 0;
  // `reply` may be called from any thread, exactly once.
  virtual void dispatch(boost::beast::http::request<boost::beast::http::string_body>&& request, const std::string& peer,
                        std::function<void(ApiResponse)> reply) = 0;
};

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void run() = 0;
  // Thread-safe: closes the connection from its own strand.
  virtual void close() = 0;
  // The admission slot this connection holds (connection_admission.hpp), freed with the session.
  std::shared_ptr<void> admission;
};

template <class Derived>
class HttpSession : public SessionBase {
 protected:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  using Response = boost::beast::http::response<boost::beast::http::string_body>;

  HttpSession(std::shared_ptr<SessionHost> host, std::string peer) : host_(std::move(host)), peer_(std::move(peer)) {}

  Derived& derived() { return static_cast<Derived&>(*this); }

  void do_read() {
    namespace http = boost::beast::http;
    const AdminSettings& settings = host_->session_settings();
    parser_.emplace();
    parser_->body_limit(settings.max_body_size);
    parser_->header_limit(static_cast<std::uint32_t>(settings.max_header_size));
    // Until a request of this connection was answered with anything but 401, a client has the
    // shorter pre-auth timeout: idle strangers do not hold admission slots for long.
    boost::beast::get_lowest_layer(derived().stream())
        .expires_after(authenticated_ ? settings.read_timeout
                                      : std::min(settings.preauth_timeout, settings.read_timeout));
    http::async_read(
        derived().stream(), buffer_, *parser_,
        [self = derived().shared_from_this()](boost::beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(boost::beast::error_code ec) {
    namespace http = boost::beast::http;
    if (ec == http::error::end_of_stream) return derived().do_eof();
    if (ec == http::error::body_limit) {
      return write(error_response(413, "request body exceeds " +
                                           std::to_string(host_->session_settings().max_body_size) + " bytes"),
                   11, false);
    }
    if (ec == http::error::header_limit) {
      return write(error_response(431, "request header exceeds " +
                                           std::to_string(host_->session_settings().max_header_size) + " bytes"),
                   11, false);
    }
    if (ec) {
      // Timeouts and garbage: close without an answer, the peer is not speaking HTTP in time.
      spdlog::debug("admin: connection from {} closed: {}", peer_, ec.message());
      return derived().do_close();
    }
    Request request = parser_->release();
    // Every /v1 endpoint needs a token, so one answered with anything but 401 carried a valid one.
    token_request_ = request.target().starts_with("/v1/") && !request[http::field::authorization].empty();
    const unsigned version = request.version();
    const bool keep_alive = request.keep_alive();
    host_->dispatch(std::move(request), peer_,
                    [self = derived().shared_from_this(), version, keep_alive](ApiResponse response) {
                      auto& stream = boost::beast::get_lowest_layer(self->stream());
                      boost::asio::post(stream.get_executor(),
                                        [self, response = std::move(response), version, keep_alive]() mutable {
                                          self->write(std::move(response), version, keep_alive);
                                        });
                    });
  }

  void write(ApiResponse answer, unsigned version, bool keep_alive) {
    namespace http = boost::beast::http;
    if (closed_) return;
    // A 401 ends the connection: a client without a valid token gets no further reads on it.
    if (answer.status == 401) keep_alive = false;
    if (answer.status != 401 && token_request_) authenticated_ = true;
    response_ = Response{static_cast<http::status>(answer.status), version};
    response_.set(http::field::server, "dkim-relay-admin");
    response_.set(http::field::content_type, answer.content_type);
    response_.set(http::field::cache_control, "no-store");
    for (const auto& [name, value] : answer.headers) response_.set(name, value);
    response_.body() = std::move(answer.body);
    response_.keep_alive(keep_alive);
    response_.prepare_payload();
    boost::beast::get_lowest_layer(derived().stream()).expires_after(host_->session_settings().read_timeout);
    http::async_write(derived().stream(), response_,
                      [self = derived().shared_from_this()](boost::beast::error_code ec, std::size_t) {
                        if (ec) return self->do_close();
                        if (self->response_.need_eof()) return self->do_eof();
                        self->do_read();
                      });
  }

 public:
  void close() override {
    auto& stream = boost::beast::get_lowest_layer(derived().stream());
    boost::asio::post(stream.get_executor(), [self = derived().shared_from_this()] {
      self->closed_ = true;
      self->do_close();
    });
  }

  void do_close() {
    boost::beast::error_code ignored;
    auto& socket = boost::beast::get_lowest_layer(derived().stream()).socket();
    socket.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

 private:
  std::shared_ptr<SessionHost> host_;
  std::string peer_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  Response response_;
  bool closed_ = false;
  bool token_request_ = false;  // the request being answered is a /v1 request with a token
  bool authenticated_ = false;  // a request of this connection carried a valid token
};

inline std::string peer_of(const boost::asio::ip::tcp::socket& socket) {
  boost::system::error_code ec;
  const auto endpoint = socket.remote_endpoint(ec);
  if (ec) return "?";
  return endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

class PlainSession final : public HttpSession<PlainSession>, public std::enable_shared_from_this<PlainSession> {
 public:
  PlainSession(boost::asio::ip::tcp::socket socket, std::shared_ptr<SessionHost> host)
      : HttpSession(std::move(host), peer_of(socket)), stream_(std::move(socket)) {}

  void run() override {
    boost::asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->do_read(); });
  }
  boost::beast::tcp_stream& stream() { return stream_; }
  void do_eof() {
    boost::beast::error_code ignored;
    stream_.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
  }

 private:
  boost::beast::tcp_stream stream_;
};

class TlsSession final : public HttpSession<TlsSession>, public std::enable_shared_from_this<TlsSession> {
 public:
  TlsSession(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context& context, std::shared_ptr<SessionHost> host)
      : HttpSession(std::move(host), peer_of(socket)), stream_(std::move(socket), context) {}

  void run() override {
    boost::asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      boost::beast::get_lowest_layer(self->stream_).expires_after(std::chrono::seconds(30));
      self->stream_.async_handshake(boost::asio::ssl::stream_base::server, [self](boost::beast::error_code ec) {
        if (ec) {
          spdlog::debug("admin: TLS handshake failed: {}", ec.message());
          return self->do_close();
        }
        self->do_read();
      });
    });
  }
  boost::beast::ssl_stream<boost::beast::tcp_stream>& stream() { return stream_; }
  void do_eof() {
    boost::beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
    stream_.async_shutdown([self = shared_from_this()](boost::beast::error_code) { self->do_close(); });
  }

 private:
  boost::beast::ssl_stream<boost::beast::tcp_stream> stream_;
};

}  // namespace dkr::admin
