#pragma once
// How the lifecycle asks DNS whether a key is published: "does SELECTOR._domainkey.DOMAIN serve a
// DKIM TXT record whose p= is byte-identical to this key's public key?". The lifecycle knows no
// resolver; the app adapts one (app/key_publication_dns.cpp).
#include <string>
#include <string_view>
#include <vector>

namespace dkr::lifecycle {

struct ProbeResult {
  enum class Outcome {
    Proven,    // every DKIM record at the name carries exactly this p=
    Missing,   // NXDOMAIN / NODATA: not published yet
    Mismatch,  // DNS serves another key (or a TXT that is not a DKIM key record); `found` lists it
    Failed,    // the lookup failed (timeout, SERVFAIL, no resolver): `detail` says which
  };
  Outcome outcome = Outcome::Failed;
  std::string detail;              // for people: why
  std::vector<std::string> found;  // the TXT values DNS served
};

std::string_view to_string(ProbeResult::Outcome outcome);

class KeyPublicationProbe {
 public:
  virtual ~KeyPublicationProbe() = default;
  // Blocking (the scheduler calls it on its own thread). `expected_record` is the key store's TXT
  // value for the key ("v=DKIM1; k=rsa; p=...").
  virtual ProbeResult probe(std::string_view domain, std::string_view selector, std::string_view expected_record) = 0;
};

}  // namespace dkr::lifecycle
