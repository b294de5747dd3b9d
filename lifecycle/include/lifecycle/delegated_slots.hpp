#pragma once
// Delegated domains: the owner's CNAMEs point each fixed selector slot (dkr1, dkr2) at our delegation
// zone, and successive keys take turns in the slots. A key keeps a unique name (SelectorInfo::selector)
// and names its slot (SelectorInfo::slot), which is the DNS selector it signs with (s=).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dns/record_publisher.hpp"
#include "keystore/key_store.hpp"

namespace dkr::lifecycle {

struct DelegationSettings {
  std::string zone;                // [dns.publish] zone: where our TXT records live
  std::vector<std::string> slots;  // [dns.publish] selectors, in order
};

// The key occupying a slot: the staged, active or retiring key in it (at most one), else nullptr.
const keystore::SelectorInfo* slot_holder(const keystore::DomainInfo& info, std::string_view slot);
// The first slot no staged, active or retiring key occupies; nullopt when all are taken.
std::optional<std::string> idle_slot(const keystore::DomainInfo& info, const std::vector<std::string>& slots);
// A unique name for the next key of a slot: "dkr1-<unix seconds>", with a suffix when taken.
std::string delegated_key_name(const keystore::DomainInfo& info, std::string_view slot, std::int64_t now);

// Removing a delegated domain: each slot's record is revoked (v=DKIM1; p=), then deleted. Blocking.
// A record changed behind our back is left alone and reported.
struct UnpublishReport {
  std::vector<std::pair<std::string, dns::PublishResult>> steps;  // record name, what happened
  std::string failed;                                             // the first server failure; empty: none
};
UnpublishReport unpublish_delegated(const keystore::DomainInfo& info, dns::RecordPublisher& publisher,
                                    const DelegationSettings& settings);

}  // namespace dkr::lifecycle
