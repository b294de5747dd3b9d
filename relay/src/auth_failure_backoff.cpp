#include "auth_failure_backoff.hpp"

#include <algorithm>

namespace dkr::relay {

AuthFailureBackoff::AuthFailureBackoff(std::chrono::milliseconds max_delay, std::size_t max_addresses)
    : max_delay_(max_delay),
      quiet_period_(std::max<std::chrono::milliseconds>(max_delay * 10, std::chrono::minutes(10))),
      max_entries_(max_addresses) {}

std::string AuthFailureBackoff::key(const std::string& address, std::string_view user) {
  // An address holds no NUL, so the pair is unambiguous.
  std::string out = address;
  out += '\0';
  out += user;
  return out;
}

std::chrono::milliseconds AuthFailureBackoff::delay_for(const std::string& address, std::string_view user,
                                                        Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = failures_.find(key(address, user));
  if (it == failures_.end() || it->second.count == 0 || now - it->second.last > quiet_period_)
    return std::chrono::milliseconds(0);
  const std::uint32_t shift = std::min<std::uint32_t>(it->second.count - 1, 20);
  return std::min(max_delay_, std::chrono::milliseconds(1000) * (1u << shift));
}

std::uint32_t AuthFailureBackoff::failed(const std::string& address, std::string_view user, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  std::string id = key(address, user);
  if ((failures_.size() >= max_entries_ && !failures_.count(id)) ||
      (addresses_.size() >= max_entries_ && !addresses_.count(address)))
    forget_old(now);
  auto& entry = failures_[std::move(id)];
  if (entry.count > 0 && now - entry.last > quiet_period_) entry.count = 0;
  ++entry.count;
  entry.last = now;
  auto& standing = addresses_[address];
  standing.failed = true;
  standing.last_failure = now;
  return entry.count;
}

void AuthFailureBackoff::succeeded(const std::string& address, std::string_view user, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  failures_.erase(key(address, user));
  if (addresses_.size() >= max_entries_ && !addresses_.count(address)) forget_old(now);
  addresses_[address].success = now;
}

AuthWorkerPool::Standing AuthFailureBackoff::standing(const std::string& address, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = addresses_.find(address);
  if (it == addresses_.end()) return AuthWorkerPool::Standing::Unknown;
  const Address& entry = it->second;
  if (entry.success && now - *entry.success <= quiet_period_) return AuthWorkerPool::Standing::Trusted;
  if (entry.failed && now - entry.last_failure <= quiet_period_) return AuthWorkerPool::Standing::Suspect;
  return AuthWorkerPool::Standing::Unknown;
}

void AuthFailureBackoff::forget_old(Clock::time_point now) {
  std::erase_if(failures_, [&](const auto& item) { return now - item.second.last > quiet_period_; });
  std::erase_if(addresses_, [&](const auto& item) {
    const Address& e = item.second;
    return (!e.failed || now - e.last_failure > quiet_period_) && (!e.success || now - *e.success > quiet_period_);
  });
  // Still full (a flood from many addresses or user names): forget the lot rather than grow without
  // bound; the pool's queue limit still caps the CPU spent.
  if (failures_.size() >= max_entries_) failures_.clear();
  if (addresses_.size() >= max_entries_) addresses_.clear();
}

}  // namespace dkr::relay
