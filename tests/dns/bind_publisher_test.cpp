// Rfc2136Publisher against a real BIND 9: TSIG-signed UPDATEs to the dynamic zone dkim.esp.example.
// What the zone holds is read back by AXFR through dnspython (bind_server.py), not through ldns.
#include <set>
#include <sstream>

#include "bind_support.hpp"

using namespace dkr::dns;
using namespace dkr::dns::test;

namespace {

const std::string kZone = "dkim.esp.example";

// The TXT values the zone holds at `relative` (e.g. "dkr1.a.example"), by AXFR.
std::multiset<std::string> zone_txt(const std::string& relative) {
  std::multiset<std::string> values;
  std::istringstream lines(bind_control("records " + kZone));
  std::string line;
  while (std::getline(lines, line)) {
    // "<name> TXT <rdata>", rdata as quoted strings: "a" "b"
    const std::string prefix = relative + " TXT ";
    if (!line.starts_with(prefix)) continue;
    std::string rdata = line.substr(prefix.size());
    std::string value;
    bool quoted = false;
    for (std::size_t i = 0; i < rdata.size(); ++i) {
      if (rdata[i] == '"') {
        quoted = !quoted;
      } else if (quoted && rdata[i] == '\\' && i + 1 < rdata.size()) {
        value += rdata[++i];
      } else if (quoted) {
        value += rdata[i];
      }
    }
    values.insert(value);
  }
  return values;
}

std::string fqdn(const std::string& relative) { return relative + "." + kZone; }

// A 2048-bit RSA key's p= is ~400 characters: more than one 255-byte TXT string.
std::string long_record(char fill) { return "v=DKIM1; k=rsa; p=MIIBIjAN" + std::string(380, fill) + "IDAQAB"; }

void check_zone_clean() {
  const std::string output = bind_control("checkzone " + kZone);
  INFO(output);
  CHECK(output.find("OK") != std::string::npos);
}

}  // namespace

TEST_CASE("publish, re-publish is a no-op, replace, revoke, delete; the zone stays clean") {
  auto publisher = Rfc2136Publisher::create(publisher_settings(kZone));
  REQUIRE_MESSAGE(publisher, publisher.error().message);
  Rfc2136Publisher& p = **publisher;
  const std::string name = fqdn("dkr1.a.example");
  const std::string first = long_record('A');
  const std::string second = long_record('B');

  PublishResult published = p.publish(name, first);
  INFO(describe(published));
  CHECK(published.outcome == PublishResult::Outcome::Changed);
  CHECK(zone_txt("dkr1.a.example") == std::multiset<std::string>{first});

  CHECK(p.publish(name, first).outcome == PublishResult::Outcome::AlreadySo);
  CHECK(p.publish(name + ".", first).outcome == PublishResult::Outcome::AlreadySo);  // the same name, absolute

  const PublishResult replaced = p.replace(name, first, second);
  CHECK(replaced.outcome == PublishResult::Outcome::Changed);
  CHECK(zone_txt("dkr1.a.example") == std::multiset<std::string>{second});
  CHECK(p.replace(name, first, second).outcome == PublishResult::Outcome::AlreadySo);

  CHECK(p.revoke(name, second).outcome == PublishResult::Outcome::Changed);
  CHECK(zone_txt("dkr1.a.example") == std::multiset<std::string>{"v=DKIM1; p="});
  CHECK(p.revoke(name, second).outcome == PublishResult::Outcome::AlreadySo);

  CHECK(p.remove(name, std::string(kRevokedRecord)).outcome == PublishResult::Outcome::Changed);
  CHECK(zone_txt("dkr1.a.example").empty());
  CHECK(p.remove(name, std::string(kRevokedRecord)).outcome == PublishResult::Outcome::AlreadySo);
  check_zone_clean();
}

TEST_CASE("a record changed behind our back is a conflict with what was found, and stays as it is") {
  auto publisher = Rfc2136Publisher::create(publisher_settings(kZone));
  REQUIRE(publisher);
  Rfc2136Publisher& p = **publisher;
  const std::string name = fqdn("dkr1.b.example");
  const std::string ours = "v=DKIM1; k=ed25519; p=OURS";
  REQUIRE(p.publish(name, ours).outcome == PublishResult::Outcome::Changed);

  // A person (or another replica) puts another key there.
  nsupdate(kZone, "update delete " + name + ". TXT\nupdate add " + name + ". 60 TXT \"v=DKIM1; p=BYHAND\"");
  for (const PublishResult& result :
       {p.replace(name, ours, "v=DKIM1; p=NEXT"), p.revoke(name, ours), p.remove(name, ours), p.publish(name, ours)}) {
    INFO(describe(result));
    CHECK(result.outcome == PublishResult::Outcome::Conflict);
    CHECK(result.found == std::vector<std::string>{"v=DKIM1; p=BYHAND"});
    CHECK(describe(result).find("v=DKIM1; p=BYHAND") != std::string::npos);
  }
  CHECK(zone_txt("dkr1.b.example") == std::multiset<std::string>{"v=DKIM1; p=BYHAND"});

  // Deleted behind our back: a replace finds nothing where our record was, and does not recreate it.
  nsupdate(kZone, "update delete " + name + ". TXT");
  const PublishResult gone = p.replace(name, ours, "v=DKIM1; p=NEXT");
  CHECK(gone.outcome == PublishResult::Outcome::Conflict);
  CHECK(gone.found.empty());
  CHECK(zone_txt("dkr1.b.example").empty());
  check_zone_clean();
}

TEST_CASE("the prerequisite guards the UPDATE itself: a change racing ours is not clobbered") {
  Rfc2136Settings settings = publisher_settings(kZone);
  const std::string name = fqdn("dkr2.c.example");
  bool raced = false;
  settings.before_update = [&](const std::string& updated) {
    if (raced || updated != name) return;
    raced = true;
    nsupdate(kZone, "update delete " + name + ". TXT\nupdate add " + name + ". 60 TXT \"v=DKIM1; p=RACER\"");
  };
  auto publisher = Rfc2136Publisher::create(settings);
  REQUIRE(publisher);

  // Publishing where nothing was when we looked: the racer's record got there first.
  const PublishResult first = (*publisher)->publish(name, "v=DKIM1; p=OURS");
  INFO(describe(first));
  CHECK(raced);
  CHECK(first.outcome == PublishResult::Outcome::Conflict);
  CHECK(first.found == std::vector<std::string>{"v=DKIM1; p=RACER"});
  CHECK(zone_txt("dkr2.c.example") == std::multiset<std::string>{"v=DKIM1; p=RACER"});

  // Replacing the racer's record (as if it were what we expect) while a third value races in.
  raced = false;
  settings.before_update = [&](const std::string&) {
    if (raced) return;
    raced = true;
    nsupdate(kZone, "update delete " + name + ". TXT\nupdate add " + name + ". 60 TXT \"v=DKIM1; p=THIRD\"");
  };
  auto replacing = Rfc2136Publisher::create(settings);
  REQUIRE(replacing);
  const PublishResult second = (*replacing)->replace(name, "v=DKIM1; p=RACER", "v=DKIM1; p=OURS");
  INFO(describe(second));
  CHECK(second.outcome == PublishResult::Outcome::Conflict);
  CHECK(zone_txt("dkr2.c.example") == std::multiset<std::string>{"v=DKIM1; p=THIRD"});
  nsupdate(kZone, "update delete " + name + ". TXT");
}

TEST_CASE("a wrong TSIG secret is refused with the server's rcode, and changes nothing") {
  auto publisher = Rfc2136Publisher::create(publisher_settings(kZone, "DKR_TEST_TSIG_WRONG_KEY_FILE"));
  REQUIRE(publisher);
  const PublishResult result = (*publisher)->publish(fqdn("dkr1.d.example"), "v=DKIM1; p=X");
  const std::string seen = "wrong TSIG secret: rcode " + result.rcode + ": " + describe(result);
  MESSAGE(seen);
  CHECK(result.outcome == PublishResult::Outcome::Failed);
  CHECK((result.rcode == "BADSIG" || result.rcode == "NOTAUTH"));
  CHECK(result.detail.find(result.rcode) != std::string::npos);
  CHECK(zone_txt("dkr1.d.example").empty());

  const PublishResult probe = (*publisher)->probe();
  CHECK(probe.outcome == PublishResult::Outcome::Failed);
  CHECK(probe.rcode == result.rcode);
  auto right = Rfc2136Publisher::create(publisher_settings(kZone));
  REQUIRE(right);
  const PublishResult accepted = (*right)->probe();
  INFO(describe(accepted));
  CHECK(accepted.outcome == PublishResult::Outcome::AlreadySo);
}

TEST_CASE("a name outside the zone is refused before anything is sent") {
  auto publisher = Rfc2136Publisher::create(publisher_settings(kZone));
  REQUIRE(publisher);
  const PublishResult result = (*publisher)->publish("dkr1._domainkey.customer.example", "v=DKIM1; p=X");
  CHECK(result.outcome == PublishResult::Outcome::Failed);
  CHECK(result.rcode == "invalid");
}

TEST_CASE("BIND stopped: a transport failure; after start() the same call succeeds") {
  auto publisher = Rfc2136Publisher::create(publisher_settings(kZone));
  REQUIRE(publisher);
  const std::string name = fqdn("dkr1.e.example");
  bind_control("stop");
  const PublishResult down = (*publisher)->publish(name, "v=DKIM1; p=E");
  const PublishResult probe_down = (*publisher)->probe();
  bind_control("start");
  CHECK(probe_down.rcode == "transport");
  const std::string seen = "BIND stopped: rcode " + down.rcode + ": " + describe(down);
  MESSAGE(seen);
  CHECK(down.outcome == PublishResult::Outcome::Failed);
  CHECK(down.rcode == "transport");
  CHECK(down.detail.find(server().to_string()) != std::string::npos);

  const PublishResult up = (*publisher)->publish(name, "v=DKIM1; p=E");
  INFO(describe(up));
  CHECK(up.outcome == PublishResult::Outcome::Changed);
  CHECK(zone_txt("dkr1.e.example") == std::multiset<std::string>{"v=DKIM1; p=E"});
  CHECK((*publisher)->remove(name, "v=DKIM1; p=E").outcome == PublishResult::Outcome::Changed);
  check_zone_clean();
}
