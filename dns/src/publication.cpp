#include "dns/publication.hpp"

#include <optional>

#include "dns/dkim_record.hpp"

namespace dkr::dns {

std::string_view to_string(PublicationStatus status) {
  switch (status) {
    case PublicationStatus::Published:
      return "published";
    case PublicationStatus::Pending:
      return "pending";
    case PublicationStatus::Mismatch:
      return "mismatch";
    case PublicationStatus::Error:
      return "error";
  }
  return "error";
}

PublicationCheck check_publication(const TxtLookup& lookup, std::string_view expected_record) {
  switch (lookup.outcome) {
    case TxtLookup::Outcome::Failed:
      return {PublicationStatus::Error, lookup.error};
    case TxtLookup::Outcome::NoRecords:
      return {PublicationStatus::Pending, lookup.error.empty() ? "no TXT record" : lookup.error};
    case TxtLookup::Outcome::Records:
      break;
  }
  const std::optional<std::string> expected = dkim_public_key(expected_record);
  if (!expected) return {PublicationStatus::Error, "the key store's record is not a DKIM key record"};

  int ours = 0;
  int others = 0;
  for (const std::string& record : lookup.records) {
    const auto key = dkim_public_key(record);
    if (!key) continue;
    ++(*key == *expected ? ours : others);
  }
  if (ours > 0 && others == 0) return {PublicationStatus::Published, "DNS serves this key"};
  if (others > 0) {
    return {PublicationStatus::Mismatch,
            ours > 0 ? "DNS serves this key and another DKIM key at the same name" : "DNS serves a different DKIM key"};
  }
  return {PublicationStatus::Mismatch, "TXT records at the name are not DKIM key records"};
}

}  // namespace dkr::dns
