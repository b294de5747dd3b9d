#pragma once
// How the lifecycle asks DNS whether a key is published: "does SELECTOR._domainkey.DOMAIN serve a
// DKIM TXT record whose p= is byte-identical to this key's public key?". The lifecycle knows no
// resolver; the app adapts one (app/key_publication_dns.cpp).
#include <cstddef>
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

struct ProbeRequest {
  std::string domain;
  std::string selector;
  std::string expected_record;
};

class KeyPublicationProbe {
 public:
  virtual ~KeyPublicationProbe() = default;
  // Blocking (the scheduler calls it on its own thread). `expected_record` is the key store's TXT
  // value for the key ("v=DKIM1; k=rsa; p=...").
  virtual ProbeResult probe(std::string_view domain, std::string_view selector, std::string_view expected_record) = 0;
  // Every request, at most `max_in_flight` at once (a round over thousands of staged keys must not
  // take thousands of lookups end to end); the results in the requests' order. Blocking. This
  // default runs probe() on up to `max_in_flight` threads; an asynchronous resolver overrides it.
  virtual std::vector<ProbeResult> probe_all(const std::vector<ProbeRequest>& requests, std::size_t max_in_flight);
};

}  // namespace dkr::lifecycle
