#include "dns/publish_metrics.hpp"

namespace dkr::dns {

void PublishFailureCounter::count(const PublishResult& result) {
  if (result.outcome != PublishResult::Outcome::Failed) return;
  std::lock_guard lock(mutex_);
  auto it = by_rcode_.find(result.rcode);
  if (it == by_rcode_.end()) it = by_rcode_.emplace(result.rcode.empty() ? "unknown" : result.rcode, 0).first;
  ++it->second;
}

std::uint64_t PublishFailureCounter::failures(std::string_view rcode) const {
  std::lock_guard lock(mutex_);
  const auto it = by_rcode_.find(rcode);
  return it == by_rcode_.end() ? 0 : it->second;
}

void PublishFailureCounter::render(PrometheusText& out) const {
  out.family(kPublishFailuresMetric, "counter",
             "DNS publishing failures ([dns.publish]) by the server's rcode, TSIG error or \"transport\".");
  std::lock_guard lock(mutex_);
  for (const auto& [rcode, count] : by_rcode_) out.sample(kPublishFailuresMetric, {{"rcode", rcode}}, count);
}

}  // namespace dkr::dns
