#include "upstream/upstream_pool.hpp"

#include <algorithm>
#include <optional>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "rethrow_coroutine_exception.hpp"

namespace dkr::upstream {

namespace asio = boost::asio;

namespace {

UpstreamTask<void> say_goodbye(std::shared_ptr<UpstreamConnection> connection) { co_await connection->quit(); }

}  // namespace

UpstreamPool::UpstreamPool(asio::any_io_executor io, std::shared_ptr<const SmtpUpstreamSettings> settings,
                           std::shared_ptr<asio::ssl::context> tls)
    : settings_(std::move(settings)),
      tls_(std::move(tls)),
      sweep_strand_(asio::make_strand(io)),
      sweep_timer_(sweep_strand_) {}

UpstreamTask<std::pair<std::shared_ptr<UpstreamConnection>, UpstreamOutcome>> UpstreamPool::open(UpstreamIo io) {
  auto connection = std::make_shared<UpstreamConnection>(io, settings_, tls_);
  UpstreamOutcome opened = co_await connection->open();
  // Reached means the upstream answered at all; its refusals are not a readiness problem.
  reachable_.store(opened.transport == UpstreamTransport::ok);
  if (opened.transport != UpstreamTransport::ok || !opened.reply.positive()) {
    connection->close();
    co_return std::make_pair(nullptr, std::move(opened));
  }
  smtputf8_.store(connection->extensions().smtputf8);
  co_return std::make_pair(std::move(connection), std::move(opened));
}

namespace {
const asio::execution_context* context_of(const asio::any_io_executor& io) {
  return &asio::query(io, asio::execution::context);
}

// The io_context executor under a session's strand (or the io_context's own), if it is one.
std::optional<UpstreamIo> io_executor_of(const asio::any_io_executor& io) {
  if (const auto* strand = io.target<UpstreamStrand>()) return strand->get_inner_executor();
  if (const auto* executor = io.target<UpstreamIo>()) return *executor;
  return std::nullopt;
}
}  // namespace

std::shared_ptr<UpstreamConnection> UpstreamPool::take_idle(const asio::any_io_executor& io) {
  std::vector<std::shared_ptr<UpstreamConnection>> expired;
  std::shared_ptr<UpstreamConnection> found;
  bool foreign = false;
  {
    const std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    auto expired_end = std::stable_partition(idle_.begin(), idle_.end(),
                                             [&](const Idle& i) { return now - i.since >= settings_->idle_timeout; });
    for (auto it = idle_.begin(); it != expired_end; ++it) expired.push_back(std::move(it->connection));
    idle_.erase(idle_.begin(), expired_end);
    // Newest first: the most recently used connection is the least likely to have been dropped.
    const asio::execution_context* wanted = context_of(io);
    auto pick = std::find_if(idle_.rbegin(), idle_.rend(), [&](const Idle& i) { return i.context == wanted; });
    if (pick == idle_.rend()) pick = idle_.rbegin();
    if (pick != idle_.rend()) {
      found = std::move(pick->connection);
      foreign = pick->context != wanted;
      idle_.erase(std::next(pick).base());
    }
  }
  for (auto& connection : expired) retire(std::move(connection));
  // One living on another thread's io_context moves to the caller's (epoll_ctl DEL and ADD), else
  // each of its reads and writes would complete there and be posted back here.
  if (foreign) {
    if (auto target = io_executor_of(io)) {
      if (found->move_to(*target)) {
        moved_.fetch_add(1, std::memory_order_relaxed);
      } else {
        found = nullptr;
      }
    }
  }
  return found;
}

void UpstreamPool::give_back(std::shared_ptr<UpstreamConnection> connection) {
  connection->park();
  if (!connection->usable()) {
    connection->close();
    return;
  }
  std::shared_ptr<UpstreamConnection> surplus;
  {
    const std::lock_guard lock(mutex_);
    if (shut_down_ || settings_->pool_size == 0) {
      surplus = std::move(connection);
    } else {
      const asio::execution_context* context = &connection->executor().context();
      idle_.push_back(Idle{std::move(connection), context, std::chrono::steady_clock::now()});
      if (idle_.size() > settings_->pool_size) {
        surplus = std::move(idle_.front().connection);
        idle_.erase(idle_.begin());
      }
    }
  }
  if (surplus) retire(std::move(surplus));
  // An armed sweep re-arms itself after running (it then finds this connection under the lock).
  if (!sweep_scheduled_) asio::post(sweep_strand_, [self = shared_from_this()] { self->schedule_sweep(); });
}

void UpstreamPool::retire(std::shared_ptr<UpstreamConnection> connection) {
  // On a strand of the connection's own io_context: nobody else holds it any more, and should that
  // io_context be stopped for good, the goodbye is destroyed with it, before its sockets' services.
  auto strand = asio::make_strand(connection->executor());
  asio::co_spawn(strand, say_goodbye(std::move(connection)), rethrow_coroutine_exception);
}

void UpstreamPool::release_idle() {
  std::vector<Idle> idle;
  {
    const std::lock_guard lock(mutex_);
    idle.swap(idle_);
  }
  for (auto& i : idle) retire(std::move(i.connection));
}

void UpstreamPool::schedule_sweep() {
  if (sweep_scheduled_) return;
  std::chrono::steady_clock::time_point oldest;
  {
    const std::lock_guard lock(mutex_);
    if (idle_.empty()) return;
    oldest = idle_.front().since;
  }
  sweep_scheduled_ = true;
  sweep_timer_.expires_at(oldest + settings_->idle_timeout);
  sweep_timer_.async_wait([self = shared_from_this()](const boost::system::error_code&) {
    self->sweep_scheduled_ = false;
    self->sweep();
  });
}

void UpstreamPool::sweep() {
  std::vector<std::shared_ptr<UpstreamConnection>> expired;
  {
    const std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    auto keep = std::stable_partition(idle_.begin(), idle_.end(),
                                      [&](const Idle& i) { return now - i.since >= settings_->idle_timeout; });
    for (auto it = idle_.begin(); it != keep; ++it) expired.push_back(std::move(it->connection));
    idle_.erase(idle_.begin(), keep);
  }
  for (auto& connection : expired) retire(std::move(connection));
  schedule_sweep();
}

void UpstreamPool::shutdown() {
  std::vector<Idle> idle;
  {
    const std::lock_guard lock(mutex_);
    shut_down_ = true;
    idle.swap(idle_);
  }
  for (auto& i : idle) retire(std::move(i.connection));
  asio::post(sweep_strand_, [self = shared_from_this()] { self->sweep_timer_.cancel(); });
}

std::size_t UpstreamPool::idle_count() const {
  const std::lock_guard lock(mutex_);
  return idle_.size();
}

}  // namespace dkr::upstream
