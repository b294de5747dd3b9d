#include <doctest/doctest.h>

#include "admin/admin_metrics.hpp"

using namespace dkr::admin;
using dkr::keystore::KeyState;

namespace {

dkr::keystore::SelectorInfo key(const char* name, KeyState state) {
  dkr::keystore::SelectorInfo info;
  info.selector = name;
  info.state = state;
  return info;
}

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("metrics count domains and keys by state") {
  std::vector<dkr::keystore::DomainInfo> domains = {
      {"a.example", {key("s1", KeyState::Active), key("s2", KeyState::Staged), key("s3", KeyState::Retiring)}},
      {"b\"x.example", {key("s1", KeyState::Active), key("s0", KeyState::Revoked)}},
  };
  AdminCounters counters;
  counters.count_request(200);
  counters.count_request(200);
  counters.count_request(401);

  const std::string text = render_metrics(domains, counters, false);
  CHECK(has_line(text, "dkim_relay_keystore_domains 2"));
  CHECK(has_line(text, "dkim_relay_keystore_keys{state=\"active\"} 2"));
  CHECK(has_line(text, "dkim_relay_keystore_keys{state=\"staged\"} 1"));
  CHECK(has_line(text, "dkim_relay_keystore_keys{state=\"retiring\"} 1"));
  CHECK(has_line(text, "dkim_relay_keystore_keys{state=\"revoked\"} 1"));
  CHECK(has_line(text, "dkim_relay_admin_requests_total{code=\"200\"} 2"));
  CHECK(has_line(text, "dkim_relay_admin_requests_total{code=\"401\"} 1"));
  CHECK(text.find("dkim_relay_keystore_domain_keys") == std::string::npos);

  const std::string per_domain = render_metrics(domains, counters, true);
  CHECK(has_line(per_domain, "dkim_relay_keystore_domain_keys{domain=\"a.example\",state=\"staged\"} 1"));
  CHECK(has_line(per_domain, "dkim_relay_keystore_domain_keys{domain=\"b\\\"x.example\",state=\"revoked\"} 1"));
}
