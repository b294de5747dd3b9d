#include "relay/relay_server.hpp"

#include <unistd.h>

#include <atomic>
#include <future>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <spdlog/spdlog.h>

#include "common/memory_release.hpp"
#include "session_context.hpp"
#include "smtp_session.hpp"
#include "tls_extra_certificate.hpp"
#include "tls_ticket_keys.hpp"

namespace dkr::relay {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// An io_context whose queued handlers can be destroyed while every other one still exists: an
// upstream connection moved between threads (UpstreamPool::take_idle) keeps timers of the first
// io_context it lived on, so handlers holding it must go before any io_context is destroyed.
class WorkerContext : public asio::io_context {
 public:
  using asio::io_context::io_context;
  void destroy_handlers() { shutdown(); }
};

}  // namespace

struct RelayServer::Impl {
  Impl(RelaySettings settings, std::shared_ptr<keystore::KeyStore> keys, std::shared_ptr<Upstream> upstream,
       RelayMetrics& metrics)
      : context(std::make_shared<SessionContext>(std::move(settings), std::move(keys), std::move(upstream), metrics)),
        auth_pool(context->settings.auth_threads, context->settings.auth_queue),
        signing_pool(context->settings.signing_threads, context->settings.signing_queue) {
    std::random_device random;
    // Session ids are unique within a process and unlikely to repeat across restarts in the logs.
    next_id = (static_cast<std::uint64_t>(random()) << 24) & 0xFFFFFF000000ull;
  }

  ~Impl() {
    listeners.clear();
    trim_timer.reset();
    for (auto& io : ios) io->destroy_handlers();
  }

  Result<void> start();
  Result<void> load_tls();
  Result<void> listen(const ListenAddress& address);
  void accept(std::size_t index);
  void stop(std::chrono::milliseconds grace);

  // One io_context per worker thread (first member: destroyed last, after every I/O object using
  // them). A session and its upstream connection live on one of them, so a message's dozen socket
  // events never wake another thread (bench/relay: a shared io_context spent ~3 futex calls and a
  // cross-thread wake-up per message on its queue lock).
  std::vector<std::unique_ptr<WorkerContext>> ios;
  // Round robin over ios for accepted connections. One listener per thread in an SO_REUSEPORT
  // group (no hand-off) was measured against it and saved nothing measurable (bench/relay
  // tls_bench.py, 2026-12-06: 1.35 against 1.33 ms per TLS message at 4 clients), while the
  // kernel's hash can put an application's few long-lived connections all on one thread.
  std::atomic<std::size_t> next_io{0};
  std::shared_ptr<SessionContext> context;
  AuthWorkerPool auth_pool;
  SigningPool signing_pool;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work;
  struct Listener {
    explicit Listener(asio::io_context& io) : strand(asio::make_strand(io)), acceptor(strand), retry(strand) {}
    asio::strand<asio::io_context::executor_type> strand;
    tcp::acceptor acceptor;
    asio::steady_timer retry;
  };
  std::vector<std::unique_ptr<Listener>> listeners;
  std::unique_ptr<asio::steady_timer> trim_timer;  // memory_release.hpp, on ios[0]
  void trim_memory();
  std::vector<tcp::endpoint> bound;
  std::vector<std::thread> threads;
  std::atomic<bool> running{false};
  std::atomic<std::uint64_t> next_id{0};
  std::mutex stop_mutex;
};

Result<void> RelayServer::Impl::load_tls() {
  const auto& s = context->settings;
  if (s.tls_cert.empty() && s.tls_key.empty()) return {};
  if (s.tls_cert.empty() || s.tls_key.empty())
    return make_error("relay.tls_cert and relay.tls_key must be set together");
  try {
    auto tls = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 |
                     asio::ssl::context::single_dh_use);
    tls->use_certificate_chain_file(s.tls_cert);
    tls->use_private_key_file(s.tls_key, asio::ssl::context::pem);
    if (!s.tls_extra_cert.empty() || !s.tls_extra_key.empty()) {
      if (s.tls_extra_cert.empty() || s.tls_extra_key.empty())
        return make_error("relay.tls_extra_cert and relay.tls_extra_key must be set together");
      if (auto extra = add_extra_certificate(tls->native_handle(), s.tls_extra_cert, s.tls_extra_key); !extra)
        return extra;
    }
    // Returning clients resume with a ticket (no certificate signature, no certificate sent);
    // the keys rotate hourly as Postfix's do. One ticket per handshake: a client that resumes
    // uses one per connection and gets a fresh one each time.
    if (!install_rotating_ticket_keys(tls->native_handle(), std::chrono::hours(1)))
      return make_error("cannot set up TLS session tickets");
    SSL_CTX_set_num_tickets(tls->native_handle(), 1);
    context->tls = std::move(tls);
  } catch (const boost::system::system_error& e) {
    return make_error("TLS certificate " + s.tls_cert + " / key " + s.tls_key + ": " + e.what());
  }
  return {};
}

Result<void> RelayServer::Impl::listen(const ListenAddress& address) {
  boost::system::error_code ec;
  std::vector<tcp::endpoint> endpoints;
  auto ip = asio::ip::make_address(address.host, ec);
  if (!ec) {
    endpoints.emplace_back(ip, address.port);
  } else {
    tcp::resolver resolver(*ios.front());
    auto results = resolver.resolve(address.host, std::to_string(address.port), tcp::resolver::passive, ec);
    if (ec) return make_error("cannot resolve listen address " + address.host + ": " + ec.message());
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  }
  for (const auto& endpoint : endpoints) {
    auto listener = std::make_unique<Listener>(*ios.front());
    auto& acceptor = listener->acceptor;
    std::string where = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
    acceptor.open(endpoint.protocol(), ec);
    if (ec) return make_error("cannot open socket for " + where + ": " + ec.message());
    acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    // "::" and "0.0.0.0" may both be listed: keep the IPv6 socket to IPv6.
    if (endpoint.address().is_v6()) acceptor.set_option(asio::ip::v6_only(true), ec);
    acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return make_error("cannot listen on " + where + ": " + ec.message());
    bound.push_back(acceptor.local_endpoint(ec));
    listeners.push_back(std::move(listener));
  }
  return {};
}

Result<void> RelayServer::Impl::start() {
  std::lock_guard lock(stop_mutex);
  if (running) return make_error("already running");
  auto& s = context->settings;
  context->hostname = s.hostname;
  if (context->hostname.empty()) {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) == 0) context->hostname = name;
    if (context->hostname.empty()) context->hostname = "localhost";
  }
  if (auto tls = load_tls(); !tls) return tls;
  if (s.listen.empty()) return make_error("no listen address");
  const unsigned count = s.threads ? s.threads : std::max(1u, std::thread::hardware_concurrency());
  if (ios.empty()) {
    for (unsigned i = 0; i < count; ++i) {
      ios.push_back(std::make_unique<WorkerContext>(1));
      // A timer service makes the io_context open its epoll, eventfd and timerfd now rather than
      // at its first connection: the descriptor count after start is then the baseline.
      asio::steady_timer warm_up(*ios.back());
    }
  }
  for (const auto& address : s.listen) {
    if (auto listened = listen(address); !listened) {
      listeners.clear();
      bound.clear();
      return listened;
    }
  }
  auth_pool.start();
  context->auth_pool = &auth_pool;
  signing_pool.start();
  context->signing_pool = context->settings.signing_threads > 0 ? &signing_pool : nullptr;
  for (auto& io : ios) {
    io->restart();  // after an earlier stop()
    work.push_back(asio::make_work_guard(*io));
  }
  for (std::size_t i = 0; i < listeners.size(); ++i) {
    asio::post(listeners[i]->strand, [this, i] { accept(i); });
  }
  if (!trim_timer) trim_timer = std::make_unique<asio::steady_timer>(*ios.front());
  trim_memory();
  for (auto& io_ptr : ios) {
    threads.emplace_back([io = io_ptr.get()] {
      while (true) {
        try {
          io->run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("relay worker: unexpected exception: {}", e.what());
        }
      }
    });
  }
  running = true;
  return {};
}

void RelayServer::Impl::trim_memory() {
  // Once a second at most, and only after a large message was freed: a trim walks the arenas.
  trim_timer->expires_after(std::chrono::seconds(1));
  trim_timer->async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    trim_if_released();
    trim_memory();
  });
}

void RelayServer::Impl::accept(std::size_t index) {
  auto& listener = *listeners[index];
  asio::io_context& io = *ios[next_io++ % ios.size()];
  listener.acceptor.async_accept(asio::make_strand(io),
                                 [this, index](boost::system::error_code ec, ClientStream::Socket socket) {
                                   auto& l = *listeners[index];
                                   if (!l.acceptor.is_open() || ec == asio::error::operation_aborted) return;
                                   if (ec) {
                                     // EMFILE and friends: back off instead of spinning on a failing accept.
                                     spdlog::warn("relay accept: {}", ec.message());
                                     l.retry.expires_after(std::chrono::milliseconds(100));
                                     l.retry.async_wait([this, index](boost::system::error_code wait_ec) {
                                       if (!wait_ec) accept(index);
                                     });
                                     return;
                                   }
                                   boost::system::error_code ignored;
                                   socket.set_option(tcp::no_delay(true), ignored);
                                   auto session = std::make_shared<SmtpSession>(context, std::move(socket), next_id++);
                                   session->start();
                                   accept(index);
                                 });
}

void RelayServer::Impl::stop(std::chrono::milliseconds grace) {
  std::lock_guard lock(stop_mutex);
  if (!running) return;
  // Acceptors belong to their strands: close them there, and wait so no new session appears later.
  for (auto& listener : listeners) {
    std::promise<void> closed;
    asio::post(listener->strand, [&] {
      boost::system::error_code ignored;
      listener->acceptor.close(ignored);
      listener->retry.cancel();
      closed.set_value();
    });
    closed.get_future().wait();
  }
  for (auto& session : context->connections.sessions()) session->request_shutdown();
  auto wait_for_sessions = [this](std::chrono::steady_clock::time_point deadline) {
    while (context->connections.session_count() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };
  wait_for_sessions(std::chrono::steady_clock::now() + grace);
  if (context->connections.session_count() > 0) {
    spdlog::warn("relay shutdown: closing {} connection(s) after the grace period",
                 context->connections.session_count());
    for (auto& session : context->connections.sessions()) session->close();
    wait_for_sessions(std::chrono::steady_clock::now() + std::chrono::seconds(2));
  }
  work.clear();
  for (auto& io : ios) io->stop();
  for (auto& thread : threads) thread.join();
  threads.clear();
  context->upstream->release_idle();
  auth_pool.stop();
  signing_pool.stop();
  running = false;
}

RelayServer::RelayServer(RelaySettings settings, std::shared_ptr<keystore::KeyStore> keys,
                         std::shared_ptr<Upstream> upstream, RelayMetrics& metrics)
    : impl_(std::make_unique<Impl>(std::move(settings), std::move(keys), std::move(upstream), metrics)) {}

RelayServer::~RelayServer() { stop(std::chrono::milliseconds(0)); }

Result<void> RelayServer::start() { return impl_->start(); }

void RelayServer::stop(std::chrono::milliseconds grace) { impl_->stop(grace); }

bool RelayServer::running() const { return impl_->running; }

std::vector<tcp::endpoint> RelayServer::endpoints() const { return impl_->bound; }

std::vector<std::string> RelayServer::listening() const {
  std::vector<std::string> out;
  for (const auto& endpoint : impl_->bound) {
    auto host = endpoint.address().to_string();
    if (endpoint.address().is_v6()) host = "[" + host + "]";
    out.push_back(host + ":" + std::to_string(endpoint.port()));
  }
  return out;
}

}  // namespace dkr::relay
