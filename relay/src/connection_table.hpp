#pragma once
// The server's view of its open connections: admission against the total and per-IP limits, and
// the live sessions, so that shutdown can reach every one of them.
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace dkr::relay {

class SmtpSession;

class ConnectionTable {
 public:
  ConnectionTable(std::uint32_t max_total, std::uint32_t max_per_ip) : max_total_(max_total), max_per_ip_(max_per_ip) {}

  enum class Admission { Admitted, OverTotal, OverPerIp };
  // Counts the connection when under the total limit and, with `per_ip_limit`, under the per-IP one.
  Admission admit(const std::string& ip, bool per_ip_limit);
  // Counts a connection admitted over the total limit in place of one being evicted (stress mode).
  void admit_in_place_of_evicted(const std::string& ip);
  void release(const std::string& ip);
  std::uint32_t open() const;  // admitted and not yet released

  void track(std::uint64_t id, std::weak_ptr<SmtpSession> session);
  void untrack(std::uint64_t id);
  std::vector<std::shared_ptr<SmtpSession>> sessions() const;
  std::size_t session_count() const;

 private:
  mutable std::mutex mutex_;
  std::uint32_t max_total_;
  std::uint32_t max_per_ip_;
  std::uint32_t total_ = 0;
  std::unordered_map<std::string, std::uint32_t> per_ip_;
  std::unordered_map<std::uint64_t, std::weak_ptr<SmtpSession>> sessions_;
};

}  // namespace dkr::relay
