#pragma once
// RecordPublisher over DNS UPDATE (RFC 2136) signed with TSIG (RFC 8945), which BIND, Knot,
// PowerDNS and Windows DNS accept. The wire format and TSIG are NLnet Labs' ldns.
//
// Each operation first asks the primary server (over TCP, no recursion) what the name holds, then
// sends one UPDATE whose prerequisite (RFC 2136 2.4) is exactly that state: "no TXT RRset" for a
// publish, "this TXT RRset, value for value" for a replace or a delete. So a change made between our
// read and our update fails the prerequisite (YXRRSET / NXRRSET) and is reported as a Conflict too.
//
// Synchronous by design: a publish is one step of a rotation that must be known to have happened
// (or not) before the step is recorded, and the lifecycle scheduler already runs its steps on a
// worker thread. Each call uses its own ldns resolver, so calls from several threads do not share
// state. A call takes at most about 2 x `timeout` (the read and the update).
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/result.hpp"
#include "dns/record_publisher.hpp"
#include "dns/tsig_key.hpp"

namespace dkr::dns {

struct Rfc2136Settings {
  std::string server;  // the primary's IP address (IPv4 or IPv6, no brackets)
  std::uint16_t port = 53;
  std::string zone;  // e.g. "dkim.esp.example"; every name published must be inside it
  TsigKey key;
  std::uint32_t ttl = 300;
  std::chrono::milliseconds timeout{5000};  // per message exchange
  // Tests only: runs between the read and the UPDATE, to race a change against ours.
  std::function<void(const std::string& name)> before_update;
};

class Rfc2136Publisher final : public RecordPublisher {
 public:
  // Fails when the address, the zone or the key cannot be used.
  static Result<std::unique_ptr<Rfc2136Publisher>> create(Rfc2136Settings settings);

  PublishResult publish(std::string_view name, std::string_view text) override;
  PublishResult replace(std::string_view name, std::string_view expected, std::string_view text) override;
  PublishResult remove(std::string_view name, std::string_view expected) override;
  // A signed UPDATE with one prerequisite (the zone's SOA exists) and no change: the server checks
  // the TSIG key and its update policy, and changes nothing.
  PublishResult probe() override;

  // What the server holds at `name` now (TXT values, "CNAME target." for a CNAME); for tests and
  // status pages. Failed/transport as in PublishResult.
  Result<std::vector<std::string>> records_at(std::string_view name) const;

 private:
  explicit Rfc2136Publisher(Rfc2136Settings settings) : settings_(std::move(settings)) {}
  Rfc2136Settings settings_;
};

}  // namespace dkr::dns
