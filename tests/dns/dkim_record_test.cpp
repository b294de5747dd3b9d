#include <doctest/doctest.h>

#include "dns/dkim_record.hpp"
#include "dns/publication.hpp"

using namespace dkr::dns;

TEST_CASE("record name") {
  CHECK(dkim_record_name("s1", "example.com") == "s1._domainkey.example.com");
  CHECK(dkim_record_name("s1", "example.com.") == "s1._domainkey.example.com");
}

TEST_CASE("p= is read from DKIM key records") {
  CHECK(dkim_public_key("v=DKIM1; k=rsa; p=ABC") == "ABC");
  CHECK(dkim_public_key("k=rsa;p=AB C\tD ;") == "ABCD");
  CHECK(dkim_public_key("v=DKIM1; p=") == "");
  CHECK(dkim_public_key(" v = DKIM1 ; p = X ") == "X");
  CHECK_FALSE(dkim_public_key("v=spf1 -all").has_value());
  CHECK_FALSE(dkim_public_key("v=DKIM1; k=rsa").has_value());
  CHECK_FALSE(dkim_public_key("hello world").has_value());
  CHECK_FALSE(dkim_public_key("").has_value());
}

TEST_CASE("publication status from a lookup") {
  const std::string ours = "v=DKIM1; k=rsa; p=OURKEY";
  TxtLookup found{TxtLookup::Outcome::Records, {"v=DKIM1; k=rsa; p=OUR KEY"}, ""};
  CHECK(check_publication(found, ours).status == PublicationStatus::Published);

  TxtLookup other{TxtLookup::Outcome::Records, {"v=DKIM1; k=rsa; p=THEIRS"}, ""};
  CHECK(check_publication(other, ours).status == PublicationStatus::Mismatch);

  TxtLookup both{TxtLookup::Outcome::Records, {"v=DKIM1; p=OURKEY", "v=DKIM1; p=THEIRS"}, ""};
  CHECK(check_publication(both, ours).status == PublicationStatus::Mismatch);

  TxtLookup not_dkim{TxtLookup::Outcome::Records, {"google-site-verification=x"}, ""};
  CHECK(check_publication(not_dkim, ours).status == PublicationStatus::Mismatch);

  TxtLookup none{TxtLookup::Outcome::NoRecords, {}, "NXDOMAIN"};
  CHECK(check_publication(none, ours).status == PublicationStatus::Pending);

  TxtLookup failed{TxtLookup::Outcome::Failed, {}, "DNS lookup failed: Timeout"};
  const auto check = check_publication(failed, ours);
  CHECK(check.status == PublicationStatus::Error);
  CHECK(check.detail == "DNS lookup failed: Timeout");

  // A revoked key publishes an empty p=.
  TxtLookup revoked{TxtLookup::Outcome::Records, {"v=DKIM1; p="}, ""};
  CHECK(check_publication(revoked, "v=DKIM1; k=rsa; p=").status == PublicationStatus::Published);
  CHECK(check_publication(revoked, ours).status == PublicationStatus::Mismatch);
}
