// The decisions of the delegation status and the key proof, from given lookups (no DNS). The same
// code runs against BIND in bind_delegation_test.cpp.
#include <doctest/doctest.h>

#include "dns/delegation_status.hpp"
#include "dns/key_proof.hpp"

using namespace dkr::dns;

namespace {

const std::string kDomain = "Customer.Example.";
const std::string kZone = "dkim.esp.example";
const std::string kOurs = "v=DKIM1; k=rsa; p=OURKEY";

CnameLookup alias(std::string target) { return {CnameLookup::Outcome::Alias, std::move(target), ""}; }
TxtLookup txt(std::vector<std::string> records) { return {TxtLookup::Outcome::Records, std::move(records), ""}; }
const CnameLookup kNoAlias{CnameLookup::Outcome::NoAlias, {}, "NXDOMAIN"};
const TxtLookup kNoTxt{TxtLookup::Outcome::NoRecords, {}, "NXDOMAIN"};

}  // namespace

TEST_CASE("the names: where our record lives, and the CNAME the owner publishes") {
  CHECK(delegated_record_name("dkr1", kDomain, kZone) == "dkr1.customer.example.dkim.esp.example");
  CHECK(owner_cname("dkr1", kDomain, "dkim.esp.example.") ==
        "dkr1._domainkey.customer.example. CNAME dkr1.customer.example.dkim.esp.example.");
  CHECK(to_string(DelegationStatus::PendingValidation) == "Pending validation");
  CHECK(to_string(DelegationStatus::Connected) == "Connected");
  CHECK(to_string(DelegationStatus::Error) == "Error");
}

TEST_CASE("no CNAME yet: Pending validation, saying what to publish") {
  const SlotStatus slot = judge_slot({"dkr1", kOurs}, kDomain, kZone, kNoAlias, kNoTxt);
  CHECK(slot.status == DelegationStatus::PendingValidation);
  CHECK(slot.name == "dkr1._domainkey.customer.example");
  CHECK(slot.detail.find("dkr1._domainkey.customer.example. CNAME dkr1.customer.example.dkim.esp.example.") !=
        std::string::npos);
}

TEST_CASE("the CNAME to our name and our record behind it: Connected") {
  const auto target = delegated_record_name("dkr1", kDomain, kZone);
  CHECK(judge_slot({"dkr1", kOurs}, kDomain, kZone, alias(target), txt({kOurs})).status == DelegationStatus::Connected);
  // Nothing published in the slot yet: the CNAME alone decides.
  CHECK(judge_slot({"dkr2", std::nullopt}, kDomain, kZone, alias(delegated_record_name("dkr2", kDomain, kZone)),
                   std::nullopt)
            .status == DelegationStatus::Connected);
}

TEST_CASE("Error: a CNAME elsewhere, a record not ours, a TXT instead of the CNAME; each with what was found") {
  const SlotStatus elsewhere = judge_slot({"dkr1", kOurs}, kDomain, kZone, alias("dkr1.other-esp.example"), kNoTxt);
  CHECK(elsewhere.status == DelegationStatus::Error);
  CHECK(elsewhere.found == "dkr1.other-esp.example");
  CHECK(elsewhere.detail.find("dkr1.other-esp.example") != std::string::npos);

  const auto target = delegated_record_name("dkr1", kDomain, kZone);
  const SlotStatus not_ours = judge_slot({"dkr1", kOurs}, kDomain, kZone, alias(target), txt({"v=DKIM1; p=THEIRS"}));
  CHECK(not_ours.status == DelegationStatus::Error);
  CHECK(not_ours.found.find("p=THEIRS") != std::string::npos);

  const SlotStatus txt_instead = judge_slot({"dkr1", kOurs}, kDomain, kZone, kNoAlias, txt({"v=DKIM1; p=HAND"}));
  CHECK(txt_instead.status == DelegationStatus::Error);
  CHECK(txt_instead.detail.find("instead of the CNAME") != std::string::npos);

  const SlotStatus failed =
      judge_slot({"dkr1", kOurs}, kDomain, kZone, CnameLookup{CnameLookup::Outcome::Failed, {}, "Timeout"}, {});
  CHECK(failed.status == DelegationStatus::Error);
  CHECK(failed.detail.find("Timeout") != std::string::npos);
}

TEST_CASE("a domain is Error if a slot is, else Pending if one is, else Connected") {
  SlotStatus connected;
  connected.status = DelegationStatus::Connected;
  SlotStatus pending;
  SlotStatus error;
  error.status = DelegationStatus::Error;
  CHECK(overall_status({connected, connected}) == DelegationStatus::Connected);
  CHECK(overall_status({connected, pending}) == DelegationStatus::PendingValidation);
  CHECK(overall_status({pending, error}) == DelegationStatus::Error);
  CHECK(overall_status({}) == DelegationStatus::PendingValidation);
}

TEST_CASE("key proof: byte-identical p= or not") {
  CHECK(judge_key_proof(txt({"v=DKIM1; k=rsa; p=MIIB AQAB"}), "MIIBAQAB").outcome == KeyProof::Outcome::Proven);
  const KeyProof other = judge_key_proof(txt({"v=DKIM1; p=MIIBAQAC"}), "MIIBAQAB");
  CHECK(other.outcome == KeyProof::Outcome::Mismatch);
  CHECK(other.found == std::vector<std::string>{"v=DKIM1; p=MIIBAQAC"});
  // A prefix is not the key; case matters in base64.
  CHECK(judge_key_proof(txt({"v=DKIM1; p=MIIBAQA"}), "MIIBAQAB").outcome == KeyProof::Outcome::Mismatch);
  CHECK(judge_key_proof(txt({"v=DKIM1; p=miibaqab"}), "MIIBAQAB").outcome == KeyProof::Outcome::Mismatch);
  // Ours next to another key is no proof: verifiers may pick either.
  CHECK(judge_key_proof(txt({"v=DKIM1; p=MIIBAQAB", "v=DKIM1; p=OTHER"}), "MIIBAQAB").outcome ==
        KeyProof::Outcome::Mismatch);
  CHECK(judge_key_proof(txt({"v=DKIM1; p="}), "MIIBAQAB").outcome == KeyProof::Outcome::Mismatch);
  CHECK(judge_key_proof(kNoTxt, "MIIBAQAB").outcome == KeyProof::Outcome::Missing);
  const KeyProof failed = judge_key_proof(TxtLookup{TxtLookup::Outcome::Failed, {}, "SERVFAIL"}, "MIIBAQAB");
  CHECK(failed.outcome == KeyProof::Outcome::Failed);
  CHECK(failed.detail == "SERVFAIL");
}
