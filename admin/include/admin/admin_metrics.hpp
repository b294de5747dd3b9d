#pragma once
// The admin API's own Prometheus metrics (key store gauges, request counters).
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "keystore/key_store.hpp"

namespace dkr::admin {

class AdminCounters {
 public:
  void count_request(int status);
  void count_dns_activation() { dns_activations_.fetch_add(1, std::memory_order_relaxed); }
  void count_dns_check(bool published);

  std::map<int, std::uint64_t> requests_by_status() const;
  std::uint64_t dns_activations() const { return dns_activations_.load(std::memory_order_relaxed); }
  std::uint64_t dns_checks_published() const { return dns_published_.load(std::memory_order_relaxed); }
  std::uint64_t dns_checks_unpublished() const { return dns_unpublished_.load(std::memory_order_relaxed); }

 private:
  mutable std::mutex mutex_;
  std::map<int, std::uint64_t> requests_;
  std::atomic<std::uint64_t> dns_activations_{0};
  std::atomic<std::uint64_t> dns_published_{0};
  std::atomic<std::uint64_t> dns_unpublished_{0};
};

// Prometheus text exposition format 0.0.4 (common/prometheus_text.hpp).
std::string render_metrics(const std::vector<keystore::DomainInfo>& domains, const AdminCounters& counters,
                           bool per_domain);

}  // namespace dkr::admin
