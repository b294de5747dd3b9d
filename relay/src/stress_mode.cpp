#include "stress_mode.hpp"

#include <spdlog/spdlog.h>

#include "connection_table.hpp"
#include "session_context.hpp"
#include "smtp_session.hpp"

namespace dkr::relay {

StressMode::StressMode(std::uint32_t max_connections, RelayMetrics& metrics)
    : max_(max_connections),
      on_at_(static_cast<std::uint32_t>((static_cast<std::uint64_t>(max_connections) * 3 + 3) / 4)),
      off_below_(max_connections / 2),
      metrics_(metrics) {}

bool StressMode::update(std::uint32_t open) {
  std::lock_guard lock(mutex_);
  const bool was = active_.load(std::memory_order_relaxed);
  const bool now = was ? open >= off_below_ : open >= on_at_;
  if (now == was) return false;
  active_.store(now, std::memory_order_relaxed);
  metrics_.stress_mode(now);
  if (now)
    spdlog::warn("relay: stress mode on: {} of {} connections in use; short timeouts until fewer than {}", open, max_,
                 off_below_);
  else
    spdlog::info("relay: stress mode off: {} of {} connections in use", open, max_);
  return true;
}

void apply_stress_change(const ConnectionTable& table) {
  for (const auto& session : table.sessions()) session->stress_changed();
}

bool evict_longest_stalled(const ConnectionTable& table, std::chrono::milliseconds min_stall) {
  const auto now = std::chrono::steady_clock::now();
  // A candidate already claimed by a concurrent admission is skipped on the next round.
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::shared_ptr<SmtpSession> victim;
    std::chrono::steady_clock::duration longest = min_stall;
    for (auto& session : table.sessions()) {
      const auto since = session->stalled_since();
      if (!since || now - *since < longest) continue;
      longest = now - *since;
      victim = std::move(session);
    }
    if (!victim) return false;
    if (victim->evict()) return true;
  }
  return false;
}

bool admit_connection(SessionContext& context, const boost::asio::ip::address& client) {
  const auto& settings = context.settings;
  const std::string ip = client.to_string();
  const bool per_ip_limit = settings.per_ip_limit_applies_to_loopback || !client.is_loopback();
  auto admission = context.connections.admit(ip, per_ip_limit);
  // Only a client stalled for a second or more makes room: one that just connected (or the app
  // between two commands) is not the slow sender.
  if (admission == ConnectionTable::Admission::OverTotal && context.stress.active() &&
      evict_longest_stalled(context.connections, std::chrono::seconds(1))) {
    context.connections.admit_in_place_of_evicted(ip);
    admission = ConnectionTable::Admission::Admitted;
  }
  if (admission != ConnectionTable::Admission::Admitted) return false;
  if (context.stress.update(context.connections.open())) apply_stress_change(context.connections);
  return true;
}

void release_connection(SessionContext& context, const boost::asio::ip::address& client) {
  context.connections.release(client.to_string());
  if (context.stress.update(context.connections.open())) apply_stress_change(context.connections);
}

}  // namespace dkr::relay
