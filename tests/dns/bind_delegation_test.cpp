// Delegation status and key proof against a real BIND 9 resolving for loopback: the owner's
// CNAMEs in customer.example (added with nsupdate, as the owner would), our records in
// dkim.esp.example (published by Rfc2136Publisher), c-ares asking BIND, which follows the CNAME.
#include "bind_support.hpp"
#include "dns/delegation_status.hpp"
#include "dns/key_proof.hpp"

using namespace dkr::dns;
using namespace dkr::dns::test;

namespace {

const std::string kZone = "dkim.esp.example";
const std::string kCustomer = "customer.example";
const std::string kKey1 = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAkey1IDAQAB";
const std::string kKey2 = "MCowBQYDK2VwAyEAkey2";

std::string record(const std::string& key) { return "v=DKIM1; k=rsa; p=" + key; }

struct Resolving {
  boost::asio::io_context io;
  std::shared_ptr<Resolver> resolver;

  Resolving() {
    auto created = Resolver::create(io, {server().to_string(), std::chrono::seconds(3)});
    REQUIRE_MESSAGE(created, created.error().message);
    resolver = *created;
  }
  ~Resolving() {
    resolver->shutdown();
    io.restart();
    io.poll();
  }

  DelegationReport delegation(std::vector<SlotExpectation> slots) {
    std::optional<DelegationReport> report;
    check_delegation(resolver, kCustomer, kZone, std::move(slots), [&](DelegationReport r) { report = std::move(r); });
    return run_until(io, report);
  }

  KeyProof proof(const std::string& name, const std::string& key) {
    std::optional<KeyProof> result;
    prove_key(resolver, name, key, [&](KeyProof p) { result = std::move(p); });
    return run_until(io, result);
  }
};

std::string describe(const DelegationReport& report) {
  std::string text = std::string(to_string(report.status));
  for (const auto& slot : report.slots) {
    text += "\n  " + slot.selector + ": " + std::string(to_string(slot.status)) + ": " + slot.detail;
  }
  return text;
}

}  // namespace

TEST_CASE("Pending validation until the owner's CNAMEs are there, then Connected; a CNAME elsewhere is an Error") {
  auto publisher = Rfc2136Publisher::create(publisher_settings(kZone));
  REQUIRE(publisher);
  const std::string slot1 = delegated_record_name("dkr1", kCustomer, kZone);
  const std::string slot2 = delegated_record_name("dkr2", kCustomer, kZone);
  REQUIRE((*publisher)->publish(slot1, record(kKey1)).ok());
  REQUIRE((*publisher)->publish(slot2, record(kKey2)).ok());
  const std::vector<SlotExpectation> slots{{"dkr1", record(kKey1)}, {"dkr2", record(kKey2)}};

  Resolving dns;
  DelegationReport before = dns.delegation(slots);
  INFO(describe(before));
  CHECK(before.status == DelegationStatus::PendingValidation);
  REQUIRE(before.slots.size() == 2);
  CHECK(before.slots[0].status == DelegationStatus::PendingValidation);
  CHECK(before.slots[0].detail.find(owner_cname("dkr1", kCustomer, kZone)) != std::string::npos);

  // The owner publishes the first CNAME: one slot connected, the domain still pending.
  nsupdate(kCustomer, "update add dkr1._domainkey." + kCustomer + ". 60 CNAME " + slot1 + ".");
  DelegationReport half = dns.delegation(slots);
  INFO(describe(half));
  CHECK(half.status == DelegationStatus::PendingValidation);
  CHECK(half.slots[0].status == DelegationStatus::Connected);
  CHECK(half.slots[1].status == DelegationStatus::PendingValidation);

  nsupdate(kCustomer, "update add dkr2._domainkey." + kCustomer + ". 60 CNAME " + slot2 + ".");
  DelegationReport connected = dns.delegation(slots);
  INFO(describe(connected));
  CHECK(connected.status == DelegationStatus::Connected);

  // Through the CNAME, the key proof a rotation waits for.
  CHECK(dns.proof("dkr1._domainkey." + kCustomer, kKey1).outcome == KeyProof::Outcome::Proven);
  const KeyProof wrong = dns.proof("dkr1._domainkey." + kCustomer, kKey2);
  CHECK(wrong.outcome == KeyProof::Outcome::Mismatch);
  CHECK(wrong.found == std::vector<std::string>{record(kKey1)});
  CHECK(dns.proof("dkr9._domainkey." + kCustomer, kKey1).outcome == KeyProof::Outcome::Missing);

  // The record behind a CNAME is not the one we expect there: Error, with what was found.
  DelegationReport stale = dns.delegation({{"dkr1", record(kKey1)}, {"dkr2", record("SOMETHINGELSE")}});
  INFO(describe(stale));
  CHECK(stale.status == DelegationStatus::Error);
  CHECK(stale.slots[1].status == DelegationStatus::Error);
  CHECK(stale.slots[1].found.find(kKey2) != std::string::npos);

  // The owner points dkr2 elsewhere.
  nsupdate(kCustomer, "update delete dkr2._domainkey." + kCustomer + ". CNAME\nupdate add dkr2._domainkey." +
                          kCustomer + ". 60 CNAME dkr2.other-esp.example.");
  DelegationReport elsewhere = dns.delegation(slots);
  INFO(describe(elsewhere));
  CHECK(elsewhere.status == DelegationStatus::Error);
  CHECK(elsewhere.slots[0].status == DelegationStatus::Connected);
  CHECK(elsewhere.slots[1].status == DelegationStatus::Error);
  CHECK(elsewhere.slots[1].found == "dkr2.other-esp.example");
  CHECK(elsewhere.slots[1].detail.find("dkr2.other-esp.example") != std::string::npos);

  // Clean up as removing the domain would: revoke, then delete; nothing is left in our zone.
  for (const auto& [name, key] : {std::pair{slot1, kKey1}, std::pair{slot2, kKey2}}) {
    CHECK((*publisher)->revoke(name, record(key)).outcome == PublishResult::Outcome::Changed);
    CHECK((*publisher)->remove(name, std::string(kRevokedRecord)).outcome == PublishResult::Outcome::Changed);
  }
  const std::string records = bind_control("records " + kZone);
  INFO(records);
  CHECK(records.find(" TXT ") == std::string::npos);
  CHECK(bind_control("checkzone " + kZone).find("OK") != std::string::npos);
  CHECK(bind_control("checkzone " + kCustomer).find("OK") != std::string::npos);
}
