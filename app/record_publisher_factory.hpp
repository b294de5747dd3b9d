#pragma once
// Builds the configured record publisher ([dns.publish]): none, or RFC 2136 with the TSIG key file.
#include <memory>

#include "common/result.hpp"
#include "config/config.hpp"
#include "dns/publish_metrics.hpp"
#include "dns/record_publisher.hpp"
#include "lifecycle/delegated_slots.hpp"

namespace dkr::app {

// nullptr for type = "none". Fails (naming the key) when the TSIG key file cannot be used.
Result<std::unique_ptr<dns::RecordPublisher>> make_record_publisher(const config::Config& config);
// [dns.publish] zone and selectors, for the lifecycle's delegated domains.
lifecycle::DelegationSettings delegation_settings(const config::Config& config);
// dkim_relay_dns_publish_failures_total{rcode}, as Prometheus text for /metrics.
std::string render_publish_failures(const dns::PublishFailureCounter& counter);

}  // namespace dkr::app
