// Which From domains a client may have signed (relay/signing_authorization.hpp).
#include <doctest/doctest.h>

#include "relay/signing_authorization.hpp"

using namespace dkr::relay;

namespace {

SigningScope scope(DomainPatterns patterns) {
  SigningScope s{"test", DomainPatterns{}};
  for (const auto& p : patterns) s.domains->push_back(normalize_domain_pattern(p));
  return s;
}

boost::asio::ip::address ip(const char* text) { return boost::asio::ip::make_address(text); }

}  // namespace

TEST_CASE("patterns: exact, subdomain wildcard, any") {
  CHECK(pattern_matches("example.com", "example.com"));
  CHECK_FALSE(pattern_matches("example.com", "mail.example.com"));
  CHECK_FALSE(pattern_matches("example.com", "notexample.com"));
  CHECK(pattern_matches("*.example.com", "mail.example.com"));
  CHECK(pattern_matches("*.example.com", "a.b.example.com"));
  CHECK_FALSE(pattern_matches("*.example.com", "example.com"));  // the wildcard is for subdomains only
  CHECK_FALSE(pattern_matches("*.example.com", "badexample.com"));
  CHECK_FALSE(pattern_matches("*.example.com", "example.com.evil.test"));
  CHECK(pattern_matches("*", "anything.test"));
}

TEST_CASE("may_sign: own domains, case and IDN forms, another tenant's domain") {
  const auto alpha = scope({"alpha.test", "*.alpha.test"});
  CHECK(may_sign(alpha, "alpha.test", "alpha.test"));
  CHECK(may_sign(alpha, "ALPHA.Test", "alpha.test"));
  CHECK(may_sign(alpha, "mail.alpha.test", "mail.alpha.test"));
  CHECK_FALSE(may_sign(alpha, "beta.test", "beta.test"));
  CHECK_FALSE(may_sign(alpha, "alpha.test.beta.test", "alpha.test.beta.test"));

  const auto idn = scope({"Bücher.example"});
  CHECK(may_sign(idn, "xn--bcher-kva.example", "xn--bcher-kva.example"));
  CHECK(may_sign(idn, "bücher.example", "xn--bcher-kva.example"));
  CHECK_FALSE(may_sign(idn, "buecher.example", "buecher.example"));
}

TEST_CASE("parent fallback needs the parent's wildcard") {
  // From mail.alpha.test, signed with alpha.test's key.
  CHECK(may_sign(scope({"alpha.test", "*.alpha.test"}), "mail.alpha.test", "alpha.test"));
  CHECK(may_sign(scope({"*.alpha.test"}), "mail.alpha.test", "alpha.test"));
  CHECK(may_sign(scope({"*"}), "mail.alpha.test", "alpha.test"));
  // Owning the subdomain is not owning the parent's key.
  CHECK_FALSE(may_sign(scope({"mail.alpha.test"}), "mail.alpha.test", "alpha.test"));
  CHECK_FALSE(may_sign(scope({"alpha.test"}), "mail.alpha.test", "alpha.test"));
  // A wildcard below the parent does not reach up to it.
  CHECK_FALSE(may_sign(scope({"*.mail.alpha.test"}), "x.mail.alpha.test", "alpha.test"));
  CHECK(may_sign(scope({"*.mail.alpha.test"}), "x.mail.alpha.test", "x.mail.alpha.test"));
  // A broader wildcard covers the parent too.
  CHECK(may_sign(scope({"*.test"}), "mail.alpha.test", "alpha.test"));
  // Another tenant's wildcard never helps.
  CHECK_FALSE(may_sign(scope({"*.beta.test"}), "mail.alpha.test", "alpha.test"));
}

TEST_CASE("an empty pattern list signs nothing; no list signs anything") {
  CHECK_FALSE(may_sign(SigningScope{"x", DomainPatterns{}}, "alpha.test", "alpha.test"));
  CHECK(may_sign(SigningScope{"allowed_networks", std::nullopt}, "alpha.test", "alpha.test"));
}

TEST_CASE("signing_scope: users by name, then the first matching client rule, then anything") {
  RelaySettings settings;
  settings.auth_users = {{"alice", "hash", {"alpha.test"}}, {"bob", "hash", {"beta.test"}}};
  settings.clients = {{{*dkr::parse_cidr("10.1.0.0/16")}, {"alpha.test"}},
                      {{*dkr::parse_cidr("10.0.0.0/8"), *dkr::parse_cidr("fd00::/8")}, {"beta.test"}}};

  auto alice = signing_scope(settings, std::string("alice"), ip("10.2.0.1"));
  CHECK(alice.rule == "user:alice");
  CHECK(may_sign(alice, "alpha.test", "alpha.test"));
  CHECK_FALSE(may_sign(alice, "beta.test", "beta.test"));

  auto first = signing_scope(settings, std::nullopt, ip("10.1.2.3"));
  CHECK(first.rule == "relay.clients[0]");
  CHECK(may_sign(first, "alpha.test", "alpha.test"));
  CHECK_FALSE(may_sign(first, "beta.test", "beta.test"));

  auto second = signing_scope(settings, std::nullopt, ip("10.2.0.1"));
  CHECK(second.rule == "relay.clients[1]");
  CHECK(may_sign(second, "beta.test", "beta.test"));
  CHECK_FALSE(may_sign(second, "alpha.test", "alpha.test"));
  CHECK(signing_scope(settings, std::nullopt, ip("::ffff:10.2.0.1")).rule == "relay.clients[1]");
  CHECK(signing_scope(settings, std::nullopt, ip("fd00::5")).rule == "relay.clients[1]");

  auto other = signing_scope(settings, std::nullopt, ip("127.0.0.1"));
  CHECK(other.rule == "allowed_networks");
  CHECK(may_sign(other, "anything.test", "anything.test"));

  // A login that is no longer configured signs nothing.
  CHECK_FALSE(may_sign(signing_scope(settings, std::string("carol"), ip("127.0.0.1")), "alpha.test", "alpha.test"));
}
