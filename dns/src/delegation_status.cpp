#include "dns/delegation_status.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>

#include "dns/dkim_record.hpp"
#include "dns/publication.hpp"

namespace dkr::dns {
namespace {

std::string canonical(std::string_view name) {
  std::string out(name);
  while (out.ends_with('.')) out.pop_back();
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string joined(const std::vector<std::string>& records) {
  std::string out;
  for (const auto& record : records) out += (out.empty() ? "\"" : ", \"") + record + "\"";
  return out;
}

// Whether the slot needs the TXT lookup after its CNAME lookup.
bool needs_txt(const SlotExpectation& slot, const std::string& target, const CnameLookup& cname) {
  if (cname.outcome == CnameLookup::Outcome::NoAlias) return true;  // a TXT record instead of the CNAME?
  return cname.outcome == CnameLookup::Outcome::Alias && cname.target == target && slot.record.has_value();
}

}  // namespace

std::string_view to_string(DelegationStatus status) {
  switch (status) {
    case DelegationStatus::PendingValidation:
      return "Pending validation";
    case DelegationStatus::Connected:
      return "Connected";
    case DelegationStatus::Error:
      return "Error";
  }
  return "Error";
}

std::string delegated_record_name(std::string_view selector, std::string_view domain, std::string_view zone) {
  return canonical(selector) + "." + canonical(domain) + "." + canonical(zone);
}

std::string owner_cname(std::string_view selector, std::string_view domain, std::string_view zone) {
  return dkim_record_name(canonical(selector), canonical(domain)) + ". CNAME " +
         delegated_record_name(selector, domain, zone) + ".";
}

SlotStatus judge_slot(const SlotExpectation& slot, std::string_view domain, std::string_view zone,
                      const CnameLookup& cname, const std::optional<TxtLookup>& txt) {
  SlotStatus status;
  status.selector = slot.selector;
  status.name = dkim_record_name(canonical(slot.selector), canonical(domain));
  status.target = delegated_record_name(slot.selector, domain, zone);
  const auto set = [&](DelegationStatus value, std::string found, std::string detail) {
    status.status = value;
    status.found = std::move(found);
    status.detail = std::move(detail);
    return status;
  };

  switch (cname.outcome) {
    case CnameLookup::Outcome::Failed:
      return set(DelegationStatus::Error, "", "looking up the CNAME at " + status.name + " failed: " + cname.error);
    case CnameLookup::Outcome::NoAlias:
      if (txt && txt->outcome == TxtLookup::Outcome::Records) {
        return set(
            DelegationStatus::Error, joined(txt->records),
            status.name + " has a TXT record instead of the CNAME to " + status.target + ": " + joined(txt->records));
      }
      return set(DelegationStatus::PendingValidation, "",
                 "no CNAME at " + status.name + " yet; publish: " + owner_cname(slot.selector, domain, zone));
    case CnameLookup::Outcome::Alias:
      break;
  }
  if (cname.target != status.target) {
    return set(DelegationStatus::Error, cname.target,
               status.name + " is a CNAME to " + cname.target + ", not to " + status.target);
  }
  if (!slot.record) {
    return set(DelegationStatus::Connected, cname.target, status.name + " points to " + status.target);
  }
  if (!txt)
    return set(DelegationStatus::Error, cname.target, "the record behind " + status.name + " was not looked up");
  const PublicationCheck check = check_publication(*txt, *slot.record);
  switch (check.status) {
    case PublicationStatus::Published:
      return set(DelegationStatus::Connected, joined(txt->records),
                 status.name + " resolves through its CNAME to our record");
    case PublicationStatus::Pending:
      // The owner's part is done; ours is not visible yet (just published, or a publish failed).
      return set(DelegationStatus::PendingValidation, "",
                 "the CNAME is in place, but " + status.target + " serves no record yet");
    case PublicationStatus::Mismatch:
      return set(DelegationStatus::Error, joined(txt->records),
                 "the record behind " + status.name + " is not ours (" + check.detail + "): " + joined(txt->records));
    case PublicationStatus::Error:
      break;
  }
  return set(DelegationStatus::Error, "", "looking up the record behind " + status.name + " failed: " + check.detail);
}

DelegationStatus overall_status(const std::vector<SlotStatus>& slots) {
  if (slots.empty()) return DelegationStatus::PendingValidation;
  const auto any = [&](DelegationStatus value) {
    return std::any_of(slots.begin(), slots.end(), [value](const SlotStatus& s) { return s.status == value; });
  };
  if (any(DelegationStatus::Error)) return DelegationStatus::Error;
  if (any(DelegationStatus::PendingValidation)) return DelegationStatus::PendingValidation;
  return DelegationStatus::Connected;
}

void check_delegation(const std::shared_ptr<Resolver>& resolver, std::string domain, std::string zone,
                      std::vector<SlotExpectation> slots, std::function<void(DelegationReport)> done) {
  struct Gather {
    std::mutex mutex;
    std::string domain;
    std::string zone;
    std::vector<SlotExpectation> expected;
    std::vector<SlotStatus> slots;
    std::size_t remaining = 0;
    std::function<void(DelegationReport)> done;

    void finish_one(std::size_t index, SlotStatus status) {
      std::unique_lock lock(mutex);
      slots[index] = std::move(status);
      if (--remaining != 0) return;
      DelegationReport report{overall_status(slots), std::move(slots)};
      auto callback = std::move(done);
      lock.unlock();
      callback(std::move(report));
    }
  };
  auto gather = std::make_shared<Gather>();
  gather->domain = canonical(domain);
  gather->zone = canonical(zone);
  gather->expected = std::move(slots);
  gather->slots.resize(gather->expected.size());
  gather->remaining = gather->expected.size();
  gather->done = std::move(done);
  if (gather->expected.empty() || !resolver) {
    for (std::size_t i = 0; i < gather->expected.size(); ++i) {
      gather->slots[i] =
          judge_slot(gather->expected[i], gather->domain, gather->zone,
                     CnameLookup{CnameLookup::Outcome::Failed, {}, "no DNS resolver available"}, std::nullopt);
    }
    gather->done(DelegationReport{overall_status(gather->slots), gather->slots});
    return;
  }
  for (std::size_t i = 0; i < gather->expected.size(); ++i) {
    const SlotExpectation& slot = gather->expected[i];
    const std::string name = dkim_record_name(canonical(slot.selector), gather->domain);
    const std::string target = delegated_record_name(slot.selector, gather->domain, gather->zone);
    resolver->resolve_cname(name, [resolver, gather, i, name, target](CnameLookup cname) {
      const SlotExpectation& slot = gather->expected[i];
      if (!needs_txt(slot, target, cname)) {
        gather->finish_one(i, judge_slot(slot, gather->domain, gather->zone, cname, std::nullopt));
        return;
      }
      resolver->resolve_txt(name, [gather, i, cname](TxtLookup txt) {
        gather->finish_one(i, judge_slot(gather->expected[i], gather->domain, gather->zone, cname, txt));
      });
    });
  }
}

}  // namespace dkr::dns
