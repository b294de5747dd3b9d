#include "connection_table.hpp"

namespace dkr::relay {

ConnectionTable::Admission ConnectionTable::admit(const std::string& ip, bool per_ip_limit) {
  std::lock_guard lock(mutex_);
  auto& count = per_ip_[ip];
  const Admission admission = total_ >= max_total_                   ? Admission::OverTotal
                              : per_ip_limit && count >= max_per_ip_ ? Admission::OverPerIp
                                                                     : Admission::Admitted;
  if (admission != Admission::Admitted) {
    if (count == 0) per_ip_.erase(ip);
    return admission;
  }
  ++count;
  ++total_;
  return admission;
}

void ConnectionTable::admit_in_place_of_evicted(const std::string& ip) {
  std::lock_guard lock(mutex_);
  ++per_ip_[ip];
  ++total_;
}

std::uint32_t ConnectionTable::open() const {
  std::lock_guard lock(mutex_);
  return total_;
}

void ConnectionTable::release(const std::string& ip) {
  std::lock_guard lock(mutex_);
  auto it = per_ip_.find(ip);
  if (it == per_ip_.end()) return;
  if (--it->second == 0) per_ip_.erase(it);
  --total_;
}

void ConnectionTable::track(std::uint64_t id, std::weak_ptr<SmtpSession> session) {
  std::lock_guard lock(mutex_);
  sessions_[id] = std::move(session);
}

void ConnectionTable::untrack(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  sessions_.erase(id);
}

std::vector<std::shared_ptr<SmtpSession>> ConnectionTable::sessions() const {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<SmtpSession>> live;
  for (const auto& [id, weak] : sessions_) {
    if (auto session = weak.lock()) live.push_back(std::move(session));
  }
  return live;
}

std::size_t ConnectionTable::session_count() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

}  // namespace dkr::relay
