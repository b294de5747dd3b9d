#include "upstream/smtp_upstream.hpp"

#include <stdexcept>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/strand.hpp>
#include <openssl/ssl.h>

#include "upstream/upstream_pool.hpp"
#include "upstream/upstream_smtp_transaction.hpp"
#include "rethrow_coroutine_exception.hpp"
#include "upstream_tls_sessions.hpp"

namespace dkr::upstream {

namespace asio = boost::asio;

namespace {

Result<std::shared_ptr<asio::ssl::context>> make_tls_context(const SmtpUpstreamSettings& settings) {
  auto tls = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(tls->native_handle(), TLS1_2_VERSION);
  enable_upstream_session_reuse(tls->native_handle());
  if (settings.starttls == StartTlsPolicy::None || !settings.verify_certificate) return tls;
  boost::system::error_code ec;
  if (settings.ca_file.empty()) {
    tls->set_default_verify_paths(ec);
  } else {
    tls->load_verify_file(settings.ca_file, ec);
  }
  if (ec) {
    return make_error("cannot load upstream CA certificates" +
                      (settings.ca_file.empty() ? std::string() : " from " + settings.ca_file) + ": " + ec.message());
  }
  return tls;
}

UpstreamTask<void> start_transaction(std::shared_ptr<UpstreamPool> pool, UpstreamStrand strand,
                                     asio::any_io_executor client, Upstream::BeginHandler done) {
  std::shared_ptr<UpstreamConnection> connection = pool->take_idle(client);
  const bool reused = connection != nullptr;
  SmtpReply ready = make_reply(250, "2.0.0", "upstream ready");
  if (!connection) {
    auto [fresh, opened] = co_await pool->open(strand.get_inner_executor());
    if (!fresh) {
      asio::post(client, [done = std::move(done), reply = std::move(opened.reply)]() mutable {
        done(nullptr, std::move(reply));
      });
      co_return;
    }
    connection = std::move(fresh);
    ready = std::move(opened.reply);
  }
  auto core = std::make_shared<UpstreamTransactionCore>(strand, client, pool, std::move(connection), reused);
  std::unique_ptr<UpstreamTransaction> transaction = std::make_unique<SmtpUpstreamTransaction>(std::move(core));
  asio::post(client, [done = std::move(done), transaction = std::move(transaction),
                      ready = std::move(ready)]() mutable { done(std::move(transaction), std::move(ready)); });
}

}  // namespace

asio::io_context& io_context_of(const asio::any_io_executor& executor) {
  if (const auto* strand = executor.target<UpstreamStrand>()) return strand->get_inner_executor().context();
  if (const auto* io = executor.target<UpstreamIo>()) return io->context();
  throw std::logic_error("the upstream needs an io_context's executor or a strand of one");
}

Result<std::unique_ptr<SmtpUpstream>> SmtpUpstream::create(asio::any_io_executor io, SmtpUpstreamSettings settings) {
  Result<std::shared_ptr<asio::ssl::context>> tls = make_tls_context(settings);
  if (!tls) return tls.error();
  auto shared_settings = std::make_shared<const SmtpUpstreamSettings>(std::move(settings));
  auto pool = std::make_shared<UpstreamPool>(io, std::move(shared_settings), std::move(tls.value()));
  return std::unique_ptr<SmtpUpstream>(new SmtpUpstream(std::move(pool)));
}

SmtpUpstream::SmtpUpstream(std::shared_ptr<UpstreamPool> pool) : pool_(std::move(pool)) {}

SmtpUpstream::~SmtpUpstream() { pool_->shutdown(); }

void SmtpUpstream::begin(asio::any_io_executor executor, BeginHandler done) {
  // The upstream half of a transaction runs beside the client's session, on its io_context: an
  // upstream reply then resumes the session without waking a thread of another io_context
  // (bench/relay: that hand-off per command was a large share of the relay's cost per message).
  UpstreamStrand strand = asio::make_strand(io_context_of(executor));
  asio::co_spawn(strand, start_transaction(pool_, strand, std::move(executor), std::move(done)),
                 rethrow_coroutine_exception);
}

bool SmtpUpstream::offers_smtputf8() const { return pool_->offers_smtputf8(); }
bool SmtpUpstream::reachable() const { return pool_->reachable(); }
void SmtpUpstream::release_idle() { pool_->release_idle(); }
std::size_t SmtpUpstream::idle_connections() const { return pool_->idle_count(); }

std::uint64_t SmtpUpstream::connections_moved_between_threads() const { return pool_->moved_between_threads(); }

}  // namespace dkr::upstream
