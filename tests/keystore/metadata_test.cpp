#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "domain_metadata.hpp"

using namespace dkr::keystore;

TEST_CASE("keys.json round-trips and is plain JSON") {
  DomainMetadata metadata{"example.com", {}};
  CHECK(parse_metadata(serialize_metadata(metadata), "example.com")->selectors.empty());
  SelectorInfo a;
  a.selector = "s202611a";
  a.state = KeyState::Retiring;
  a.created_at = 1;
  a.activated_at = 2;
  a.retired_at = 3;
  SelectorInfo b;
  b.selector = "ed.1";
  b.algorithm = dkr::signer::Algorithm::Ed25519Sha256;
  b.bits = 256;
  b.state = KeyState::Active;
  b.activate_after_dns = true;
  metadata.selectors = {a, b};
  const std::string text = serialize_metadata(metadata);
  const auto json = nlohmann::json::parse(text);  // independent parse of what we wrote
  CHECK(json["domain"] == "example.com");
  CHECK(json["selectors"][0]["state"] == "retiring");
  CHECK(json["selectors"][0]["retired_at"] == 3);
  CHECK(json["selectors"][1]["algorithm"] == "ed25519-sha256");
  CHECK(json["selectors"][1]["activate_after_dns"] == true);
  auto parsed = parse_metadata(text, "example.com");
  REQUIRE(parsed);
  REQUIRE(parsed->selectors.size() == 2);
  CHECK(parsed->selectors[0].selector == "s202611a");
  CHECK(parsed->selectors[0].state == KeyState::Retiring);
  CHECK(parsed->selectors[0].activated_at == 2);
  CHECK(parsed->selectors[1].bits == 256);
  CHECK(parsed->selectors[1].activate_after_dns);
}

TEST_CASE("keys.json that breaks the rules is refused with a reason") {
  auto refused = [](const std::string& text, const std::string& words) {
    auto parsed = parse_metadata(text, "example.com");
    REQUIRE_FALSE(parsed);
    INFO(parsed.error().message);
    CHECK(parsed.error().message.find(words) != std::string::npos);
  };
  const std::string head = R"({"version": 1, "domain": "example.com", "selectors": [)";
  const std::string active = R"({"selector": "a", "algorithm": "rsa-sha256", "bits": 2048, "state": "active"})";
  const std::string active2 = R"({"selector": "b", "algorithm": "rsa-sha256", "bits": 2048, "state": "active"})";
  refused("{", "not valid JSON");
  refused(R"({"version": 2, "domain": "example.com", "selectors": []})", "version");
  refused(R"({"version": 1, "domain": "other.com", "selectors": []})", "folder");
  refused(head + active + "," + active2 + "]}", "more than one active");
  refused(head + active + "," + active + "]}", "listed twice");
  refused(head + R"({"selector": "../x", "algorithm": "rsa-sha256", "bits": 2048, "state": "active"}]})",
          "invalid selector");
  refused(head + R"({"selector": "a", "algorithm": "dsa", "bits": 2048, "state": "active"}]})", "algorithm");
  refused(head + R"({"selector": "a", "algorithm": "rsa-sha256", "bits": 2048, "state": "on"}]})", "state");
  refused(head + R"({"selector": "a", "algorithm": "rsa-sha256", "state": "active"}]})", "malformed");
}

TEST_CASE("delegated domains: the slot and the delegated flag round-trip; files without them load as before") {
  const std::string old_file = R"({"version": 1, "domain": "example.com", "selectors": [
    {"selector": "s1", "algorithm": "ed25519-sha256", "bits": 256, "state": "active"}]})";
  auto old = parse_metadata(old_file, "example.com");
  REQUIRE(old);
  CHECK_FALSE(old->delegated);
  CHECK(old->selectors[0].slot.empty());
  CHECK(dns_selector(old->selectors[0]) == "s1");
  // Written back unchanged in shape: no new fields for a domain that does not use them.
  CHECK(serialize_metadata(*old).find("slot") == std::string::npos);
  CHECK(serialize_metadata(*old).find("delegated") == std::string::npos);

  DomainMetadata metadata{"example.com", {}};
  metadata.delegated = true;
  SelectorInfo a;
  a.selector = "dkr1-1790000000";
  a.slot = "dkr1";
  a.state = KeyState::Revoked;
  SelectorInfo b;
  b.selector = "dkr1-1790000100";
  b.slot = "dkr1";
  b.state = KeyState::Active;
  metadata.selectors = {a, b};
  const std::string text = serialize_metadata(metadata);
  const auto json = nlohmann::json::parse(text);
  CHECK(json["delegated"] == true);
  CHECK(json["selectors"][1]["slot"] == "dkr1");
  auto parsed = parse_metadata(text, "example.com");
  REQUIRE(parsed);
  CHECK(parsed->delegated);
  CHECK(parsed->selectors[1].slot == "dkr1");
  CHECK(dns_selector(parsed->selectors[1]) == "dkr1");
  CHECK(parsed->selectors[1].selector == "dkr1-1790000100");
  auto bad = nlohmann::json::parse(text);
  bad["selectors"][0]["slot"] = "no spaces";
  CHECK_FALSE(parse_metadata(bad.dump(), "example.com"));
}

TEST_CASE("keys.json keeps a delegated domain's publishing error only while set; older files still load") {
  const std::string old = R"({"version": 1, "domain": "example.com", "delegated": true, "selectors": []})";
  auto parsed = parse_metadata(old, "example.com");
  REQUIRE(parsed);
  CHECK(parsed->publish_error.empty());
  CHECK(serialize_metadata(*parsed).find("publish_error") == std::string::npos);

  const PublishError error{"dkr1.example.com.dkim.esp.example: \"refused\" \x01\xff (rcode BADSIG)", "BADSIG",
                           1'790'000'000, 1'790'000'004};
  CHECK(apply_publish_error(*parsed, error));
  CHECK_FALSE(apply_publish_error(*parsed, error));  // unchanged: nothing to write
  const std::string text = serialize_metadata(*parsed);
  const auto json = nlohmann::json::parse(text);  // independent parse: still valid JSON
  CHECK(json["publish_error"]["rcode"] == "BADSIG");
  CHECK(json["publish_error"]["at"] == 1'790'000'000);
  CHECK(json["publish_error"]["retry_at"] == 1'790'000'004);
  auto again = parse_metadata(text, "example.com");
  REQUIRE(again);
  CHECK(again->publish_error.rcode == "BADSIG");
  CHECK(again->publish_error.retry_at == 1'790'000'004);
  CHECK(again->publish_error.error.find("\"refused\"") != std::string::npos);
  CHECK(again->delegated);

  // Cleared once publishing works: the field goes away.
  CHECK(apply_publish_error(*again, PublishError{}));
  CHECK(again->publish_error.empty());
  CHECK(serialize_metadata(*again).find("publish_error") == std::string::npos);
  // A damaged one is dropped; the domain still loads.
  auto damaged = parse_metadata(
      R"({"version": 1, "domain": "example.com", "selectors": [], "publish_error": {"rcode": 5, "at": "x"}})",
      "example.com");
  REQUIRE(damaged);
  CHECK(damaged->publish_error.empty());
}

TEST_CASE("keys.json keeps a domain's rotation override and a staged key's DNS check; older files still load") {
  // A file as written before either field existed.
  const std::string old = R"({"version": 1, "domain": "example.com", "selectors": [
    {"selector": "a", "algorithm": "rsa-sha256", "bits": 2048, "state": "staged", "created_at": 5,
     "activated_at": 0, "retired_at": 0, "revoked_at": 0, "activate_after_dns": true, "dns_record": ""}]})";
  auto parsed = parse_metadata(old, "example.com");
  REQUIRE(parsed);
  CHECK(parsed->rotation.empty());
  CHECK(parsed->selectors[0].dns_check == DnsCheck{});
  CHECK(serialize_metadata(*parsed).find("rotation") == std::string::npos);  // unchanged format when unused

  parsed->rotation.opt_out = true;
  parsed->rotation.retire_after = 600;
  CHECK(apply_dns_check(*parsed, "a", DnsCheck{"error", "bad \"key\"", {"v=DKIM1; p=\x01\xfe\\"}, 77}));
  CHECK_FALSE(apply_dns_check(*parsed, "a", DnsCheck{"error", "bad \"key\"", {"v=DKIM1; p=\x01\xfe\\"}, 77}));
  CHECK_FALSE(apply_dns_check(*parsed, "missing", DnsCheck{"pending", "", {}, 1}));
  const std::string text = serialize_metadata(*parsed);
  const auto json = nlohmann::json::parse(text);  // independent parse: still valid JSON
  CHECK(json["rotation"]["opt_out"] == true);
  CHECK(json["rotation"]["retire_after"] == 600);
  CHECK_FALSE(json["rotation"].contains("interval"));
  CHECK(json["selectors"][0]["dns_check"]["checked_at"] == 77);
  auto again = parse_metadata(text, "example.com");
  REQUIRE(again);
  CHECK(again->rotation == parsed->rotation);
  CHECK(again->selectors[0].dns_check.reason == "bad \"key\"");
  CHECK(again->selectors[0].dns_check.status == "error");
  REQUIRE(again->selectors[0].dns_check.found.size() == 1);

  // Activation ends the wait; a non-positive duration is refused.
  std::vector<std::string> removed;
  REQUIRE(*apply_state_changes(*again, {{"a", again->selectors[0].state, KeyState::Active}}, 100, removed));
  CHECK(again->selectors[0].dns_check == DnsCheck{});
  // A damaged DNS check is dropped; the domain still loads.
  auto damaged = parse_metadata(R"({"version": 1, "domain": "example.com", "selectors": [
    {"selector": "a", "algorithm": "rsa-sha256", "bits": 2048, "state": "staged", "dns_record": "",
     "dns_check": {"status": 5, "found": "x"}}]})",
                                "example.com");
  REQUIRE(damaged);
  CHECK(damaged->selectors[0].dns_check == DnsCheck{});
  CHECK_FALSE(parse_metadata(R"({"version": 1, "domain": "example.com", "selectors": [], "rotation": {"interval": 0}})",
                             "example.com"));
}
