#pragma once
// Delegated selectors: the domain owner publishes, once, one CNAME per selector slot
//
//   dkr1._domainkey.customer.example. CNAME dkr1.customer.example.dkim.esp.example.
//
// and we publish (and rotate) the TXT record behind it in our delegation zone. The status of a
// domain, in the words the console shows:
//   Pending validation  the owner's CNAMEs are not (all) there yet;
//   Connected           every slot resolves through the owner's CNAME to our record;
//   Error               a CNAME points elsewhere, or the record behind it is not ours (which slot,
//                       and what was found, are in the slot's status).
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dns/resolver.hpp"

namespace dkr::dns {

enum class DelegationStatus { PendingValidation, Connected, Error };
std::string_view to_string(DelegationStatus status);  // "Pending validation", "Connected", "Error"

// Where a slot's record lives in our zone: "dkr1.customer.example.dkim.esp.example".
std::string delegated_record_name(std::string_view selector, std::string_view domain, std::string_view zone);
// The line the owner publishes: "dkr1._domainkey.customer.example. CNAME dkr1.customer.example.dkim.esp.example."
std::string owner_cname(std::string_view selector, std::string_view domain, std::string_view zone);

struct SlotExpectation {
  std::string selector;
  // The TXT record we published behind the slot; nullopt when nothing is published there yet (then
  // the CNAME alone decides).
  std::optional<std::string> record;
};

struct SlotStatus {
  std::string selector;
  std::string name;    // dkr1._domainkey.customer.example
  std::string target;  // dkr1.customer.example.dkim.esp.example: where the CNAME must point
  DelegationStatus status = DelegationStatus::PendingValidation;
  std::string found;   // what DNS served: the CNAME's target, or the TXT record(s) behind it
  std::string detail;  // one sentence for people
};

struct DelegationReport {
  DelegationStatus status = DelegationStatus::PendingValidation;  // Error if a slot is, else Pending if one is
  std::vector<SlotStatus> slots;
};

// The decision for one slot from its lookups: the CNAME at the slot's name, then the TXT record
// there (CNAME followed), or nullopt when the CNAME already decided.
SlotStatus judge_slot(const SlotExpectation& slot, std::string_view domain, std::string_view zone,
                      const CnameLookup& cname, const std::optional<TxtLookup>& txt);
DelegationStatus overall_status(const std::vector<SlotStatus>& slots);

// Looks every slot up and reports. `done` runs on the resolver's io_context, exactly once.
void check_delegation(const std::shared_ptr<Resolver>& resolver, std::string domain, std::string zone,
                      std::vector<SlotExpectation> slots, std::function<void(DelegationReport)> done);

}  // namespace dkr::dns
