#include "admin/admin_metrics.hpp"

#include <array>

#include "admin/api_names.hpp"
#include "common/prometheus_text.hpp"

namespace dkr::admin {
namespace {

constexpr std::array kStates = {keystore::KeyState::Staged, keystore::KeyState::Active, keystore::KeyState::Retiring,
                                keystore::KeyState::Revoked};

std::size_t state_index(keystore::KeyState state) {
  for (std::size_t i = 0; i < kStates.size(); ++i) {
    if (kStates[i] == state) return i;
  }
  return 0;
}

}  // namespace

void AdminCounters::count_request(int status) {
  std::lock_guard lock(mutex_);
  ++requests_[status];
}

void AdminCounters::count_dns_check(bool published) {
  (published ? dns_published_ : dns_unpublished_).fetch_add(1, std::memory_order_relaxed);
}

std::map<int, std::uint64_t> AdminCounters::requests_by_status() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

std::string render_metrics(const std::vector<keystore::DomainInfo>& domains, const AdminCounters& counters,
                           bool per_domain) {
  PrometheusText out;
  out.family("dkim_relay_keystore_domains", "gauge", "Domains in the key store.");
  out.sample("dkim_relay_keystore_domains", {}, domains.size());

  std::array<std::uint64_t, kStates.size()> keys{};
  for (const auto& domain : domains) {
    for (const auto& selector : domain.selectors) ++keys[state_index(selector.state)];
  }
  out.family("dkim_relay_keystore_keys", "gauge", "Keys in the key store by state.");
  for (std::size_t i = 0; i < kStates.size(); ++i) {
    out.sample("dkim_relay_keystore_keys", {{"state", state_name(kStates[i])}}, keys[i]);
  }

  if (per_domain) {
    out.family("dkim_relay_keystore_domain_keys", "gauge", "Keys of each domain by state.");
    for (const auto& domain : domains) {
      std::array<std::uint64_t, kStates.size()> counts{};
      for (const auto& selector : domain.selectors) ++counts[state_index(selector.state)];
      for (std::size_t i = 0; i < kStates.size(); ++i) {
        out.sample("dkim_relay_keystore_domain_keys", {{"domain", domain.domain}, {"state", state_name(kStates[i])}},
                   counts[i]);
      }
    }
  }

  out.family("dkim_relay_admin_requests_total", "counter", "Admin API requests by HTTP status code.");
  for (const auto& [status, count] : counters.requests_by_status()) {
    out.sample("dkim_relay_admin_requests_total", {{"code", std::to_string(status)}}, count);
  }
  out.family("dkim_relay_admin_dns_checks_total", "counter", "DNS checks of keys waiting for their record, by result.");
  out.sample("dkim_relay_admin_dns_checks_total", {{"result", "published"}}, counters.dns_checks_published());
  out.sample("dkim_relay_admin_dns_checks_total", {{"result", "unpublished"}}, counters.dns_checks_unpublished());
  out.family("dkim_relay_admin_dns_activations_total", "counter", "Keys activated after their DNS record was seen.");
  out.sample("dkim_relay_admin_dns_activations_total", {}, counters.dns_activations());
  return std::move(out).text();
}

}  // namespace dkr::admin
