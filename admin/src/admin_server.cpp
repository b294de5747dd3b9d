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
#include "admin/dns_activation_poller.hpp"
#include "console_assets.hpp"
#include "http_session.hpp"

namespace dkr::admin {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

Result<tcp::endpoint> parse_listen(const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) return make_error("admin listen address '" + listen + "' has no port");
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) return make_error("admin listen address '" + listen + "' is not an IP address");
  const std::string port_text = listen.substr(colon + 1);
  if (port_text.empty() || port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port_text) > 65535) {
    return make_error("admin listen address '" + listen + "' has a bad port");
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
        acceptor(asio::make_strand(io)) {}

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

    worker = std::make_unique<asio::thread_pool>(1);
    api = std::make_unique<AdminApi>(store, resolver, hooks, counters, settings.per_domain_metrics);
    poller = std::make_unique<DnsActivationPoller>(
        io, store, resolver, settings.dns_check_interval,
        // weak: the poller is owned by this object
        [weak = weak_from_this()](std::function<void()> job) {
          if (auto self = weak.lock()) asio::post(*self->worker, std::move(job));
        },
        counters, hooks.runs_periodic_jobs);
    poller->start();

    spdlog::info("admin API listening on {}:{}{}", endpoint->address().to_string(), bound_port, tls ? " (TLS)" : "");
    asio::post(acceptor.get_executor(), [self = shared_from_this()] { self->accept(); });
    return {};
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
    {
      std::lock_guard lock(sessions_mutex);
      std::erase_if(sessions, [](const std::weak_ptr<SessionBase>& s) { return s.expired(); });
      if (sessions.size() >= settings.max_connections) {
        // Idle connections must not lock operators out for long: each one ends at read_timeout.
        spdlog::warn("admin: connection from {} refused: {} connections open (admin.max_connections)", peer_of(socket),
                     sessions.size());
        boost::system::error_code ignored;
        socket.close(ignored);
        return;
      }
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
    session->run();
  }

  const AdminSettings& session_settings() const override { return settings; }

  void dispatch(http::request<http::string_body>&& request, const std::string& peer,
                std::function<void(ApiResponse)> reply) override {
    const std::string method(request.method_string());
    const std::string target(request.target());
    const bool mutating = method != "GET" && method != "HEAD";
    const auto if_none_match = request[http::field::if_none_match];
    if (auto console = console_response(method, target, std::string_view(if_none_match.data(), if_none_match.size()))) {
      counters.count_request(console->status);
      return reply(std::move(*console));
    }

    std::string who = "-";
    bool authorized = is_public_path(target);
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
    auto routed = match_route(method, target);
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
    if (poller) poller->stop();
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
  std::unique_ptr<DnsActivationPoller> poller;
  std::optional<asio::ssl::context> tls;
  tcp::acceptor acceptor;
  std::atomic<unsigned short> bound_port{0};
  std::atomic<bool> stopped{false};
  std::mutex sessions_mutex;
  std::vector<std::weak_ptr<SessionBase>> sessions;
};

AdminServer::AdminServer(asio::io_context& io, keystore::KeyStore& store, AdminSettings settings, AdminHooks hooks)
    : impl_(std::make_shared<Impl>(io, store, std::move(settings), std::move(hooks))) {}

AdminServer::~AdminServer() { stop(); }

Result<void> AdminServer::start() { return impl_->start(); }

void AdminServer::stop() { impl_->stop(); }

unsigned short AdminServer::port() const { return impl_->bound_port; }

}  // namespace dkr::admin
