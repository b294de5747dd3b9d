#pragma once
// Whether the DKIM record DNS serves for a selector is the one we expect.
#include <string>
#include <string_view>

#include "dns/resolver.hpp"

namespace dkr::dns {

enum class PublicationStatus {
  Published,  // every DKIM record at the name carries our key
  Pending,    // NXDOMAIN / NODATA: not published yet
  Mismatch,   // a TXT record that is not our key (another key, or not a DKIM key record)
  Error,      // the lookup failed (timeout, SERVFAIL, ...)
};

std::string_view to_string(PublicationStatus status);

struct PublicationCheck {
  PublicationStatus status = PublicationStatus::Error;
  std::string detail;
};

PublicationCheck check_publication(const TxtLookup& lookup, std::string_view expected_record);

}  // namespace dkr::dns
