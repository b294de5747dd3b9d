#include "admin/admin_metrics.hpp"

#include <array>

#include "admin/api_names.hpp"

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

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
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

std::string escape_label_value(std::string_view value) {
  std::string out;
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string render_metrics(const std::vector<keystore::DomainInfo>& domains, const AdminCounters& counters,
                           bool per_domain) {
  std::string out;
  header(out, "dkim_keystore_domains", "gauge", "Domains in the key store.");
  out += "dkim_keystore_domains " + std::to_string(domains.size()) + "\n";

  std::array<std::uint64_t, kStates.size()> keys{};
  for (const auto& domain : domains) {
    for (const auto& selector : domain.selectors) ++keys[state_index(selector.state)];
  }
  header(out, "dkim_keystore_keys", "gauge", "Keys in the key store by state.");
  for (std::size_t i = 0; i < kStates.size(); ++i) {
    out +=
        "dkim_keystore_keys{state=\"" + std::string(state_name(kStates[i])) + "\"} " + std::to_string(keys[i]) + "\n";
  }

  if (per_domain) {
    header(out, "dkim_keystore_domain_keys", "gauge", "Keys of each domain by state.");
    for (const auto& domain : domains) {
      std::array<std::uint64_t, kStates.size()> counts{};
      for (const auto& selector : domain.selectors) ++counts[state_index(selector.state)];
      for (std::size_t i = 0; i < kStates.size(); ++i) {
        out += "dkim_keystore_domain_keys{domain=\"" + escape_label_value(domain.domain) + "\",state=\"" +
               std::string(state_name(kStates[i])) + "\"} " + std::to_string(counts[i]) + "\n";
      }
    }
  }

  header(out, "dkim_admin_requests", "counter", "Admin API requests by HTTP status code.");
  for (const auto& [status, count] : counters.requests_by_status()) {
    out += "dkim_admin_requests_total{code=\"" + std::to_string(status) + "\"} " + std::to_string(count) + "\n";
  }
  header(out, "dkim_admin_dns_checks", "counter", "DNS checks of keys waiting for their record, by result.");
  out += "dkim_admin_dns_checks_total{result=\"published\"} " + std::to_string(counters.dns_checks_published()) + "\n";
  out +=
      "dkim_admin_dns_checks_total{result=\"unpublished\"} " + std::to_string(counters.dns_checks_unpublished()) + "\n";
  header(out, "dkim_admin_dns_activations", "counter", "Keys activated after their DNS record was seen.");
  out += "dkim_admin_dns_activations_total " + std::to_string(counters.dns_activations()) + "\n";
  return out;
}

}  // namespace dkr::admin
