#pragma once
// Publishing DKIM key records on a DNS server we are allowed to change. The interface is what the
// key lifecycle needs; Rfc2136Publisher (rfc2136_publisher.hpp) implements it with DNS UPDATE, and a
// provider's API (PowerDNS, Route 53, ...) would be another implementation.
//
// Every operation is idempotent and guarded: it reads what the server holds now and changes it only
// from the state the caller expects, so a record another replica or a person changed is reported as
// a Conflict with what was found, never overwritten. The calls block (network round trips): call
// them from a worker thread, never from an io_context thread. Implementations are thread-safe.
#include <string>
#include <string_view>
#include <vector>

namespace dkr::dns {

struct PublishResult {
  enum class Outcome {
    Changed,    // the server now holds what was asked, and did not before
    AlreadySo,  // it held it already: nothing was sent
    Conflict,   // the name holds something else than expected: `found`; nothing was changed
    Failed,     // the server refused or could not be reached: `rcode`, `detail`
  };
  Outcome outcome = Outcome::Failed;
  std::vector<std::string> found;  // Conflict: the records at the name ("CNAME target." for a CNAME)
  // Failed: the server's rcode ("REFUSED", "NOTAUTH", "SERVFAIL", ...), the TSIG error when there is
  // one ("BADSIG", "BADKEY", "BADTIME"), or "transport" when no answer came. The label of
  // dkim_relay_dns_publish_failures_total{rcode}.
  std::string rcode;
  std::string detail;  // one line for the log and the API

  bool ok() const { return outcome == Outcome::Changed || outcome == Outcome::AlreadySo; }
};

std::string_view to_string(PublishResult::Outcome outcome);  // "changed", "already so", "conflict", "failed"
// "published dkr1.customer.example.dkim.esp.example", or the conflict / failure with what was found.
std::string describe(const PublishResult& result);

// A revoked key's record (RFC 6376 3.6.1: an empty p=), which verifiers read as "this key is revoked".
inline constexpr std::string_view kRevokedRecord = "v=DKIM1; p=";

class RecordPublisher {
 public:
  virtual ~RecordPublisher() = default;

  // Names are absolute, without the trailing dot, inside the publisher's zone. `text` is a TXT
  // record's value (split into 255-byte strings on the wire, compared joined).

  // Creates the TXT record at `name`. AlreadySo when exactly `text` is there; Conflict when any
  // other record is.
  virtual PublishResult publish(std::string_view name, std::string_view text) = 0;
  // Replaces `expected` (what we published last) by `text`. AlreadySo when `text` is there already;
  // Conflict when the name holds anything but `expected`, nothing included.
  virtual PublishResult replace(std::string_view name, std::string_view expected, std::string_view text) = 0;
  // replace(name, expected, kRevokedRecord).
  PublishResult revoke(std::string_view name, std::string_view expected) {
    return replace(name, expected, kRevokedRecord);
  }
  // Deletes the record `expected`. AlreadySo when the name holds nothing; Conflict when it holds
  // anything else.
  virtual PublishResult remove(std::string_view name, std::string_view expected) = 0;
  // Whether changes would be accepted now (server reachable, key accepted, zone ours), without
  // changing anything: AlreadySo when they would, Failed with the reason when not.
  virtual PublishResult probe() = 0;
};

}  // namespace dkr::dns
