#include "auth_failure_backoff.hpp"

#include <algorithm>

namespace dkr::relay {

AuthFailureBackoff::AuthFailureBackoff(std::chrono::milliseconds max_delay, std::size_t max_addresses)
    : max_delay_(max_delay),
      quiet_period_(std::max<std::chrono::milliseconds>(max_delay * 10, std::chrono::minutes(10))),
      max_addresses_(max_addresses) {}

std::chrono::milliseconds AuthFailureBackoff::delay_for(const std::string& address, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(address);
  if (it == entries_.end() || it->second.failures == 0 || now - it->second.last > quiet_period_)
    return std::chrono::milliseconds(0);
  const std::uint32_t shift = std::min<std::uint32_t>(it->second.failures - 1, 20);
  return std::min(max_delay_, std::chrono::milliseconds(1000) * (1u << shift));
}

std::uint32_t AuthFailureBackoff::failed(const std::string& address, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (entries_.size() >= max_addresses_ && !entries_.count(address)) forget_old(now);
  auto& entry = entries_[address];
  if (entry.failures > 0 && now - entry.last > quiet_period_) entry.failures = 0;
  ++entry.failures;
  entry.last = now;
  return entry.failures;
}

void AuthFailureBackoff::succeeded(const std::string& address, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (entries_.size() >= max_addresses_ && !entries_.count(address)) forget_old(now);
  auto& entry = entries_[address];
  if (entry.failures == 0) entry.last = now;
  entry.success = now;
}

AuthWorkerPool::Standing AuthFailureBackoff::standing(const std::string& address, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(address);
  if (it == entries_.end()) return AuthWorkerPool::Standing::Unknown;
  const Entry& entry = it->second;
  if (entry.success && now - *entry.success <= quiet_period_) return AuthWorkerPool::Standing::Trusted;
  if (entry.failures > 0 && now - entry.last <= quiet_period_) return AuthWorkerPool::Standing::Suspect;
  return AuthWorkerPool::Standing::Unknown;
}

void AuthFailureBackoff::forget_old(Clock::time_point now) {
  std::erase_if(entries_, [&](const auto& item) {
    const Entry& e = item.second;
    return now - e.last > quiet_period_ && (!e.success || now - *e.success > quiet_period_);
  });
  // Still full (a flood from many addresses): forget the lot rather than grow without bound; the
  // pool's queue limit still caps the CPU spent.
  if (entries_.size() >= max_addresses_) entries_.clear();
}

}  // namespace dkr::relay
