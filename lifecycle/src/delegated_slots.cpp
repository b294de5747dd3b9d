#include "lifecycle/delegated_slots.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "dns/delegation_status.hpp"

namespace dkr::lifecycle {

using keystore::KeyState;

const keystore::SelectorInfo* slot_holder(const keystore::DomainInfo& info, std::string_view slot) {
  for (const auto& key : info.selectors) {
    if (key.state != KeyState::Revoked && keystore::dns_selector(key) == slot) return &key;
  }
  return nullptr;
}

std::optional<std::string> idle_slot(const keystore::DomainInfo& info, const std::vector<std::string>& slots) {
  for (const auto& slot : slots) {
    if (slot_holder(info, slot) == nullptr) return slot;
  }
  return std::nullopt;
}

std::string delegated_key_name(const keystore::DomainInfo& info, std::string_view slot, std::int64_t now) {
  const std::string base = std::string(slot) + "-" + std::to_string(now);
  const auto taken = [&](const std::string& name) {
    return std::any_of(info.selectors.begin(), info.selectors.end(),
                       [&](const keystore::SelectorInfo& key) { return key.selector == name; });
  };
  std::string name = base;
  for (int n = 2; taken(name); ++n) name = base + "-" + std::to_string(n);
  return name;
}

UnpublishReport unpublish_delegated(const keystore::DomainInfo& info, dns::RecordPublisher& publisher,
                                    const DelegationSettings& settings) {
  UnpublishReport report;
  for (const auto& slot : settings.slots) {
    const std::string name = dns::delegated_record_name(slot, info.domain, settings.zone);
    std::vector<dns::PublishResult> steps;
    if (const auto* holder = slot_holder(info, slot); holder != nullptr && !holder->dns_record.empty())
      steps.push_back(publisher.revoke(name, holder->dns_record));
    if (steps.empty() || steps.back().ok()) steps.push_back(publisher.remove(name, dns::kRevokedRecord));
    for (auto& step : steps) {
      if (step.ok()) {
        if (step.outcome == dns::PublishResult::Outcome::Changed)
          spdlog::info("lifecycle audit: removing delegated domain {}: {}", info.domain, dns::describe(step));
      } else {
        spdlog::error("lifecycle: removing delegated domain {}: {}{}", info.domain, dns::describe(step),
                      step.rcode.empty() ? "" : " (rcode " + step.rcode + ")");
        if (step.outcome == dns::PublishResult::Outcome::Failed && report.failed.empty())
          report.failed = dns::describe(step);
      }
      report.steps.emplace_back(name, std::move(step));
    }
  }
  return report;
}

}  // namespace dkr::lifecycle
