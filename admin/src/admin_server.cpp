#include "admin/admin_server.hpp"

#include <atomic>
#include <mutex>
#include <optional>
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include "admin/admin_api.hpp"
#include "admin/bearer_auth.hpp"
#include "connection_admission.hpp"
#include "console_assets.hpp"
#include "http_session.hpp"

namespace dkr::admin {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

Result<tcp::endpoint> parse_listen(const std::string& listen, std::string_view what = "admin") {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) return make_error(std::string(what) + " listen address '" + listen + "' has no port");
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) return make_error(std::string(what) + " listen address '" + listen + "' is not an IP address");
  const std::string port_text = listen.substr(colon + 1);
  if (port_text.empty() || port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port_text) > 65535) {
    return make_error(std::string(what) + " listen address '" + listen + "' has a bad port");
  }
  return tcp::endpoint(address, static_cast<unsigned short>(std::stoi(port_text)));
}

// Request targets are client input: keep audit lines on one line and bounded.
std::string printable(std::string_view text) {
  std::string out;
  for (const char c : text.substr(0, 512)) {
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  }
  if (text.size() > 512) out += "...";
  return out;
}

}  // namespace

struct AdminServer::Impl : std::enable_shared_from_this<AdminServer::Impl>, SessionHost {
  Impl(asio::io_context& io, keystore::KeyStore& store, AdminSettings settings_in, AdminHooks hooks_in)
      : io(io),
        store(store),
        settings(std::move(settings_in)),
        hooks(std::move(hooks_in)),
        tokens(all_tokens(settings)),
        acceptor(asio::make_strand(io)),
        metrics_acceptor(asio::make_strand(io)) {}

  static std::vector<ScopedToken> all_tokens(const AdminSettings& settings) {
    std::vector<ScopedToken> all = settings.tokens;
    if (!settings.token.empty()) all.push_back({settings.token, TokenScope::full_admin()});
    return all;
  }

  Result<void> start() {
    if (settings.token.empty() && settings.tokens.empty()) {
      return make_error("admin token is empty: refusing to serve an unauthenticated API");
    }
    for (const auto& scoped : settings.tokens) {
      if (scoped.token.empty()) return make_error("admin token '" + scoped.scope.name + "' is empty");
    }
    auto endpoint = parse_listen(settings.listen);
    if (!endpoint) return endpoint.error();

    if (!settings.tls_cert.empty() || !settings.tls_key.empty()) {
      if (settings.tls_cert.empty() || settings.tls_key.empty()) {
        return make_error("admin TLS needs both tls_cert and tls_key");
      }
      tls.emplace(asio::ssl::context::tls_server);
      boost::system::error_code ec;
      tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                           asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                           asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use,
                       ec);
      if (!ec) tls->use_certificate_chain_file(settings.tls_cert, ec);
      if (ec) return make_error("admin TLS certificate '" + settings.tls_cert + "': " + ec.message());
      tls->use_private_key_file(settings.tls_key, asio::ssl::context::pem, ec);
      if (ec) return make_error("admin TLS key '" + settings.tls_key + "': " + ec.message());
    }

    auto resolver_or = dns::Resolver::create(io, {settings.dns_resolver, settings.dns_timeout});
    if (!resolver_or) return resolver_or.error();
    resolver = std::move(*resolver_or);

    boost::system::error_code ec;
    acceptor.open(endpoint->protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(*endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return make_error("admin listen on " + settings.listen + ": " + ec.message());
    bound_port = acceptor.local_endpoint(ec).port();
    if (!settings.metrics_listen.empty()) {
      auto opened = open_metrics_listener();
      if (!opened) {
        acceptor.close(ec);
        return opened.error();
      }
    }

    worker = std::make_unique<asio::thread_pool>(1);
    api = std::make_unique<AdminApi>(store, resolver, hooks, counters, settings.per_domain_metrics);

    spdlog::info("admin API listening on {}:{}{}", endpoint->address().to_string(), bound_port, tls ? " (TLS)" : "");
    asio::post(acceptor.get_executor(), [self = shared_from_this()] { self->accept(); });
    if (metrics_acceptor.is_open()) {
      spdlog::info("metrics listener (/metrics, /livez, /readyz; no token) on {}", settings.metrics_listen);
      asio::post(metrics_acceptor.get_executor(), [self = shared_from_this()] { self->accept_metrics(); });
    }
    return {};
  }

  Result<void> open_metrics_listener() {
    auto endpoint = parse_listen(settings.metrics_listen, "metrics");
    if (!endpoint) return endpoint.error();
    boost::system::error_code ec;
    metrics_acceptor.open(endpoint->protocol(), ec);
    if (!ec) metrics_acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) metrics_acceptor.bind(*endpoint, ec);
    if (!ec) metrics_acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return make_error("metrics listen on " + settings.metrics_listen + ": " + ec.message());
    metrics_bound_port = metrics_acceptor.local_endpoint(ec).port();
    return {};
  }

  // The [metrics] listener: plain HTTP, no token, only the rows marked on_metrics_listener.
  struct OpenHost final : SessionHost {
    explicit OpenHost(std::shared_ptr<Impl> impl) : impl(std::move(impl)) {}
    const AdminSettings& session_settings() const override { return impl->settings; }
    void dispatch(http::request<http::string_body>&& request, const std::string& peer,
                  std::function<void(ApiResponse)> reply) override {
      const std::string method(request.method_string());
      const std::string target(request.target());
      auto finish = [impl = impl, method, target, peer, reply = std::move(reply)](ApiResponse response) {
        impl->counters.count_request(response.status);
        spdlog::debug("metrics listener: peer={} {} {} -> {}", peer, printable(method), printable(target),
                      response.status);
        reply(std::move(response));
      };
      auto routed = match_route(method, target);
      const auto* route = std::get_if<Route>(&routed);
      if (route == nullptr || !endpoint_spec(route->endpoint).on_metrics_listener) {
        return finish(error_response(404, "no such endpoint on the metrics listener"));
      }
      impl->api->handle_open(*route, std::move(finish));
    }
    std::shared_ptr<Impl> impl;
  };

  void accept_metrics() {
    metrics_acceptor.async_accept(
        asio::make_strand(io), [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
          if (self->stopped || ec == asio::error::operation_aborted) return;
          if (ec) {
            spdlog::warn("metrics accept: {}", ec.message());
            auto backoff = std::make_shared<asio::steady_timer>(self->metrics_acceptor.get_executor(),
                                                                std::chrono::milliseconds(100));
            backoff->async_wait([self, backoff](beast::error_code) {
              if (!self->stopped) self->accept_metrics();
            });
            return;
          }
          self->track(std::make_shared<PlainSession>(std::move(socket), std::make_shared<OpenHost>(self)));
          self->accept_metrics();
        });
  }

  // Sessions of both listeners count against admin.max_connections, and stop() closes them all.
  void track(const std::shared_ptr<SessionBase>& session) {
    {
      std::lock_guard lock(sessions_mutex);
      std::erase_if(sessions, [](const std::weak_ptr<SessionBase>& s) { return s.expired(); });
      if (sessions.size() >= settings.max_connections) {
        spdlog::warn("admin: metrics connection refused: {} connections open (admin.max_connections)", sessions.size());
        session->close();
        return;
      }
      sessions.push_back(session);
    }
    session->run();
  }

  void accept() {
    acceptor.async_accept(asio::make_strand(io), [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
      if (self->stopped || ec == asio::error::operation_aborted) return;
      if (ec) {
        // Out of descriptors and the like: retrying at once would spin.
        spdlog::warn("admin accept: {}", ec.message());
        auto backoff =
            std::make_shared<asio::steady_timer>(self->acceptor.get_executor(), std::chrono::milliseconds(100));
        backoff->async_wait([self, backoff](beast::error_code) {
          if (!self->stopped) self->accept();
        });
        return;
      }
      self->start_session(std::move(socket));
      self->accept();
    });
  }

  void start_session(tcp::socket socket) {
    // Idle connections must not lock operators out for long: each one ends at preauth_timeout, one
    // address holds only so many, and loopback keeps slots of its own (connection_admission.hpp).
    boost::system::error_code peer_error;
    const auto peer = socket.remote_endpoint(peer_error);
    ConnectionAdmission::Refusal refusal;
    auto ticket =
        peer_error ? nullptr : admission->admit(peer.address().to_string(), peer.address().is_loopback(), refusal);
    if (!ticket) {
      spdlog::warn("admin: connection from {} refused: {}", peer_of(socket),
                   peer_error ? peer_error.message() : refusal.reason);
      boost::system::error_code ignored;
      socket.close(ignored);
      return;
    }
    std::shared_ptr<SessionBase> session;
    if (tls) {
      session = std::make_shared<TlsSession>(std::move(socket), *tls, shared_from_this());
    } else {
      session = std::make_shared<PlainSession>(std::move(socket), shared_from_this());
    }
    {
      std::lock_guard lock(sessions_mutex);
      std::erase_if(sessions, [](const std::weak_ptr<SessionBase>& s) { return s.expired(); });
      sessions.push_back(session);
    }
    session->admission = std::move(ticket);
    session->run();
  }

  const AdminSettings& session_settings() const override { return settings; }

  void dispatch(http::request<http::string_body>&& request, const std::string& peer,
                std::function<void(ApiResponse)> reply) override {
    const std::string method(request.method_string());
    const std::string target(request.target());
    auto routed = match_route(method, target);
    const Route* matched = std::get_if<Route>(&routed);
    // The endpoint table says what changes state; an unmatched request is judged by its method.
    const bool mutating =
        matched != nullptr ? endpoint_spec(matched->endpoint).mutates : (method != "GET" && method != "HEAD");
    const auto if_none_match = request[http::field::if_none_match];
    if (auto console = console_response(method, target, std::string_view(if_none_match.data(), if_none_match.size()))) {
      counters.count_request(console->status);
      return reply(std::move(*console));
    }

    std::string who = "-";
    bool authorized = matched != nullptr && endpoint_spec(matched->endpoint).access == Access::Public;
    const TokenScope* scope = nullptr;
    if (!authorized) {
      const auto header = request[http::field::authorization];
      scope = tokens.find(std::string_view(header.data(), header.size()));
      authorized = scope != nullptr;
      // The configured name, and the digest prefix that ties the line to the secret without revealing it.
      who = authorized ? scope->name + " token_id=" + token_id(*bearer_credentials({header.data(), header.size()}))
                       : (header.empty() ? "none" : "invalid");
    }
    const TokenScope caller = scope ? *scope : TokenScope{"-", TokenRole::Read, {}};

    auto finish = [self = shared_from_this(), method, target, peer, who, mutating,
                   reply = std::move(reply)](ApiResponse response) {
      self->counters.count_request(response.status);
      if (mutating) {
        spdlog::info("admin audit: token={} peer={} {} {} -> {}", who, peer, printable(method), printable(target),
                     response.status);
      } else {
        spdlog::debug("admin: token={} peer={} {} {} -> {}", who, peer, printable(method), printable(target),
                      response.status);
      }
      reply(std::move(response));
    };

    if (!authorized) {
      ApiResponse response = error_response(401, "unauthorized", "missing or invalid bearer token");
      response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"dkim-relay-admin\"");
      return finish(std::move(response));
    }
    if (const auto* error = std::get_if<RouteError>(&routed)) {
      ApiResponse response = error_response(error->status, error->message);
      if (!error->allow.empty()) {
        std::string allow;
        for (const auto& m : error->allow) allow += (allow.empty() ? "" : ", ") + m;
        response.headers.emplace_back("Allow", allow);
      }
      return finish(std::move(response));
    }
    Route route = std::get<Route>(std::move(routed));
    if (!is_keystore_endpoint(route.endpoint)) {
      return api->handle(route, request.body(), std::move(finish), caller);
    }
    // Key generation and disk writes must not stall the relay's I/O threads.
    asio::post(*worker, [self = shared_from_this(), route = std::move(route), body = std::move(request.body()),
                         finish = std::move(finish), caller]() mutable {
      if (self->stopped) return finish(error_response(503, "admin API is shutting down"));
      self->api->handle(route, body, std::move(finish), caller);
    });
  }

  void stop() {
    if (stopped.exchange(true)) return;
    asio::post(acceptor.get_executor(), [self = shared_from_this()] {
      boost::system::error_code ignored;
      self->acceptor.close(ignored);
    });
    asio::post(metrics_acceptor.get_executor(), [self = shared_from_this()] {
      boost::system::error_code ignored;
      self->metrics_acceptor.close(ignored);
    });
    if (resolver) resolver->shutdown();
    std::vector<std::shared_ptr<SessionBase>> open;
    {
      std::lock_guard lock(sessions_mutex);
      for (auto& weak : sessions) {
        if (auto session = weak.lock()) open.push_back(std::move(session));
      }
      sessions.clear();
    }
    for (auto& session : open) session->close();
    if (worker) worker->join();
  }

  asio::io_context& io;
  keystore::KeyStore& store;
  AdminSettings settings;
  AdminHooks hooks;
  AdminCounters counters;
  TokenTable tokens;
  std::shared_ptr<dns::Resolver> resolver;
  std::unique_ptr<AdminApi> api;
  std::unique_ptr<asio::thread_pool> worker;
  std::optional<asio::ssl::context> tls;
  tcp::acceptor acceptor;
  tcp::acceptor metrics_acceptor;
  std::atomic<unsigned short> bound_port{0};
  std::atomic<unsigned short> metrics_bound_port{0};
  std::atomic<bool> stopped{false};
  std::mutex sessions_mutex;
  std::vector<std::weak_ptr<SessionBase>> sessions;
  std::shared_ptr<ConnectionAdmission> admission = std::make_shared<ConnectionAdmission>(
      settings.max_connections, settings.max_connections_per_address, settings.loopback_reserved_connections);
};

AdminServer::AdminServer(asio::io_context& io, keystore::KeyStore& store, AdminSettings settings, AdminHooks hooks)
    : impl_(std::make_shared<Impl>(io, store, std::move(settings), std::move(hooks))) {}

AdminServer::~AdminServer() { stop(); }

Result<void> AdminServer::start() { return impl_->start(); }

void AdminServer::stop() { impl_->stop(); }

unsigned short AdminServer::port() const { return impl_->bound_port; }

unsigned short AdminServer::metrics_port() const { return impl_->metrics_bound_port; }

}  // namespace dkr::admin
