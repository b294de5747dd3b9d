#include <doctest/doctest.h>

#include "admin/readiness.hpp"

using dkr::admin::dkim_aligned;
using dkr::admin::parse_dmarc;

TEST_CASE("DMARC records: p=, sp= and adkim= are read; bad records say why") {
  auto record = parse_dmarc("v=DMARC1; p=reject; sp=quarantine; adkim=s; rua=mailto:a@example.com");
  REQUIRE(record.ok());
  CHECK(record->p == "reject");
  CHECK(record->sp == "quarantine");
  CHECK(record->strict_dkim);

  auto relaxed = parse_dmarc("v=DMARC1;p=None");
  REQUIRE(relaxed.ok());
  CHECK(relaxed->p == "none");
  CHECK(relaxed->sp.empty());
  CHECK_FALSE(relaxed->strict_dkim);

  CHECK(parse_dmarc("v=DMARC1; rua=mailto:a@example.com").error().message.find("no p=") != std::string::npos);
  CHECK(parse_dmarc("p=reject; v=DMARC1").error().message.find("start with v=DMARC1") != std::string::npos);
  CHECK(parse_dmarc("v=DMARC1; p=maybe").error().message.find("none, quarantine or reject") != std::string::npos);
  CHECK(parse_dmarc("v=DMARC1; p=none; adkim=x").error().message.find("adkim") != std::string::npos);
  CHECK_FALSE(parse_dmarc("").ok());
}

TEST_CASE("DKIM alignment: strict needs the same name, relaxed accepts a parent d=") {
  CHECK(dkim_aligned("example.com", "example.com", true));
  CHECK(dkim_aligned("Example.COM", "example.com.", true));
  CHECK_FALSE(dkim_aligned("example.com", "news.example.com", true));
  CHECK(dkim_aligned("example.com", "news.example.com", false));
  CHECK_FALSE(dkim_aligned("example.com", "badexample.com", false));
  CHECK_FALSE(dkim_aligned("news.example.com", "example.com", false));
  CHECK_FALSE(dkim_aligned("", "example.com", false));
}
