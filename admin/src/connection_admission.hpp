#pragma once
// Which new admin API connection is let in: at most admin.max_connections in all, at most
// admin.max_connections_per_address from one address, and the last
// admin.loopback_reserved_connections slots only for loopback clients. Idle pre-auth connections
// from one address then cannot lock out an operator with a valid token, whether the operator
// comes from elsewhere or from loopback (kubectl port-forward, the sidecar's own probes).
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace dkr::admin {

class ConnectionAdmission : public std::enable_shared_from_this<ConnectionAdmission> {
 public:
  ConnectionAdmission(std::size_t max_total, std::size_t max_per_address, std::size_t loopback_reserved);

  // Held by a session for its lifetime: its destruction frees the slot.
  using Ticket = std::shared_ptr<void>;
  struct Refusal {
    std::string reason;  // for the log: which limit, naming its config key
  };
  // A ticket, or why not.
  std::shared_ptr<void> admit(const std::string& address, bool loopback, Refusal& refusal);

  std::size_t open() const;

 private:
  void release(const std::string& address);

  std::size_t max_total_;
  std::size_t max_per_address_;
  std::size_t loopback_reserved_;
  mutable std::mutex mutex_;
  std::size_t open_ = 0;
  std::unordered_map<std::string, std::size_t> per_address_;
};

}  // namespace dkr::admin
