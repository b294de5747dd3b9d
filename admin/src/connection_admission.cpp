#include "connection_admission.hpp"

#include <algorithm>

namespace dkr::admin {

ConnectionAdmission::ConnectionAdmission(std::size_t max_total, std::size_t max_per_address,
                                         std::size_t loopback_reserved)
    : max_total_(max_total),
      max_per_address_(max_per_address),
      // A reserve as large as the total would shut out every other client.
      loopback_reserved_(std::min(loopback_reserved, max_total > 0 ? max_total - 1 : 0)) {}

std::shared_ptr<void> ConnectionAdmission::admit(const std::string& address, bool loopback, Refusal& refusal) {
  std::lock_guard lock(mutex_);
  if (open_ >= max_total_) {
    refusal.reason = std::to_string(open_) + " connections open (admin.max_connections)";
    return nullptr;
  }
  if (!loopback && open_ >= max_total_ - loopback_reserved_) {
    refusal.reason = std::to_string(open_) + " connections open; the last " + std::to_string(loopback_reserved_) +
                     " are kept for loopback (admin.loopback_reserved_connections)";
    return nullptr;
  }
  std::size_t& mine = per_address_[address];
  if (mine >= max_per_address_) {
    refusal.reason = std::to_string(mine) + " connections open from this address (admin.max_connections_per_address)";
    if (mine == 0) per_address_.erase(address);
    return nullptr;
  }
  ++mine;
  ++open_;
  // The ticket keeps the counter alive even if the server goes first; it points at the counter
  // only to be non-null, and its deleter frees the slot rather than any memory.
  return std::shared_ptr<void>(static_cast<void*>(this),
                               [self = shared_from_this(), address](void*) { self->release(address); });
}

void ConnectionAdmission::release(const std::string& address) {
  std::lock_guard lock(mutex_);
  if (open_ > 0) --open_;
  auto it = per_address_.find(address);
  if (it == per_address_.end()) return;
  if (--it->second == 0) per_address_.erase(it);
}

std::size_t ConnectionAdmission::open() const {
  std::lock_guard lock(mutex_);
  return open_;
}

}  // namespace dkr::admin
