#include <doctest/doctest.h>

#include <optional>

#include "admin/admin_api.hpp"
#include "fake_key_store.hpp"

using namespace dkr::admin;
using nlohmann::json;

namespace {

struct Reply {
  int status = 0;
  json body;
  ApiResponse raw;
};

class ApiFixture {
 public:
  ApiFixture() : api_(store_, nullptr, AdminHooks{}, counters_, false) {}

  Reply call(std::string_view method, std::string_view target, std::string_view body = "") {
    auto routed = match_route(method, target);
    REQUIRE_MESSAGE(std::holds_alternative<Route>(routed), method, " ", target);
    std::optional<ApiResponse> answer;
    api_.handle(std::get<Route>(routed), body, [&](ApiResponse response) { answer = std::move(response); });
    REQUIRE(answer.has_value());  // synchronous without a resolver
    Reply reply{answer->status, json(), *answer};
    if (answer->content_type == "application/json") reply.body = json::parse(answer->body);
    return reply;
  }

  std::string state_of(const std::string& domain, const std::string& selector) {
    const Reply reply = call("GET", "/v1/domains/" + domain);
    for (const auto& key : reply.body["selectors"]) {
      if (key["selector"] == selector) return key["state"];
    }
    return "absent";
  }

  testing::FakeKeyStore store_;
  AdminCounters counters_;
  AdminApi api_;
};

}  // namespace

TEST_CASE_FIXTURE(ApiFixture, "adding a domain answers 201 with its DNS record") {
  const Reply created = call("POST", "/v1/domains", R"({"domain":"Example.COM","selector":"first"})");
  REQUIRE(created.status == 201);
  CHECK(created.body["domain"] == "example.com");
  CHECK(created.body["key"]["selector"] == "first");
  CHECK(created.body["key"]["state"] == "active");
  CHECK(created.body["dns"]["name"] == "first._domainkey.example.com");
  const std::string value = created.body["dns"]["value"];
  CHECK(value.rfind("v=DKIM1; k=rsa; p=", 0) == 0);
  std::string joined;
  for (const auto& part : created.body["dns"]["strings"]) {
    CHECK(part.get<std::string>().size() <= 255);
    joined += part.get<std::string>();
  }
  CHECK(joined == value);
  const std::string zone_line = created.body["dns"]["zone_line"];
  CHECK(zone_line.rfind("first._domainkey.example.com. ", 0) == 0);
  CHECK(zone_line.find(" IN TXT ") != std::string::npos);
  for (const auto& part : created.body["dns"]["strings"]) {
    CHECK(zone_line.find("\"" + part.get<std::string>() + "\"") != std::string::npos);
  }

  CHECK(call("POST", "/v1/domains", R"({"domain":"example.com"})").status == 409);
  CHECK(call("GET", "/v1/domains/EXAMPLE.com").status == 200);
  CHECK(call("GET", "/v1/domains/missing.example").status == 404);
  CHECK(call("GET", "/v1/domains").body["domains"].size() == 1);
}

TEST_CASE_FIXTURE(ApiFixture, "bad bodies are 400 naming the problem") {
  const Reply malformed = call("POST", "/v1/domains", "{not json");
  CHECK(malformed.status == 400);
  CHECK(malformed.body["error"] == "bad_request");
  const Reply unknown = call("POST", "/v1/domains", R"({"domain":"a.example","colour":"red"})");
  CHECK(unknown.status == 400);
  CHECK(unknown.body["message"].get<std::string>().find("colour") != std::string::npos);
  CHECK(call("POST", "/v1/domains", R"({"domain":5})").status == 400);
  CHECK(call("GET", "/v1/domains?x=1").status == 400);
}

TEST_CASE_FIXTURE(ApiFixture, "rotation now retires the old key; after_dns stages it") {
  REQUIRE(call("POST", "/v1/domains", R"({"domain":"d.example","selector":"old"})").status == 201);

  const Reply now = call("POST", "/v1/domains/d.example/rotate", R"({"activate":"now","selector":"new"})");
  REQUIRE(now.status == 201);
  CHECK(now.body["key"]["state"] == "active");
  CHECK(now.body["retiring"] == json::array({"old"}));
  CHECK(state_of("d.example", "old") == "retiring");
  CHECK(state_of("d.example", "new") == "active");

  const Reply later = call("POST", "/v1/domains/d.example/rotate", R"({"activate":"after_dns","selector":"next"})");
  REQUIRE(later.status == 202);
  CHECK(later.body["key"]["state"] == "staged");
  CHECK(later.body["key"]["activate_after_dns"] == true);
  CHECK(later.body["dns"]["name"] == "next._domainkey.d.example");

  CHECK(call("POST", "/v1/domains/d.example/rotate", R"({"activate":"now","selector":"next"})").status == 409);
  CHECK(call("POST", "/v1/domains/d.example/rotate", R"({})").status == 400);
  CHECK(call("POST", "/v1/domains/nope.example/rotate", R"({"activate":"now"})").status == 404);
}

TEST_CASE_FIXTURE(ApiFixture, "rotation keeps the algorithm and size of the active key") {
  REQUIRE(call("POST", "/v1/domains", R"({"domain":"e.example","algorithm":"ed25519-sha256"})").status == 201);
  const Reply rotated = call("POST", "/v1/domains/e.example/rotate", R"({"activate":"now"})");
  REQUIRE(rotated.status == 201);
  CHECK(rotated.body["key"]["algorithm"] == "ed25519-sha256");
  CHECK(rotated.body["key"]["bits"] == 256);
  CHECK(call("POST", "/v1/domains/e.example/rotate", R"({"activate":"now","bits":2048})").status == 400);
}

TEST_CASE_FIXTURE(ApiFixture, "key transitions and their conflicts") {
  REQUIRE(call("POST", "/v1/domains", R"({"domain":"t.example","selector":"a"})").status == 201);
  REQUIRE(call("POST", "/v1/domains/t.example/rotate", R"({"activate":"after_dns","selector":"b"})").status == 202);

  CHECK(call("POST", "/v1/domains/t.example/keys/a/activate").status == 409);  // already active
  CHECK(call("POST", "/v1/domains/t.example/keys/b/retire").status == 409);    // staged
  CHECK(call("POST", "/v1/domains/t.example/keys/zz/activate").status == 404);
  CHECK(call("POST", "/v1/domains/t.example/keys/b/activate", R"({"x":1})").status == 400);

  REQUIRE(call("POST", "/v1/domains/t.example/keys/b/activate").status == 200);
  CHECK(state_of("t.example", "a") == "retiring");
  CHECK(call("DELETE", "/v1/domains/t.example/keys/b").status == 409);  // active

  REQUIRE(call("POST", "/v1/domains/t.example/keys/a/activate").status == 200);  // roll back
  CHECK(state_of("t.example", "b") == "retiring");
  REQUIRE(call("POST", "/v1/domains/t.example/keys/b/revoke").status == 200);
  CHECK(state_of("t.example", "b") == "revoked");
  CHECK(call("POST", "/v1/domains/t.example/keys/b/revoke").status == 409);
  CHECK(call("POST", "/v1/domains/t.example/keys/b/activate").status == 409);

  const Reply retired = call("POST", "/v1/domains/t.example/keys/a/retire");
  REQUIRE(retired.status == 200);
  CHECK(retired.body["key"]["state"] == "retiring");
  CHECK(call("POST", "/v1/domains/t.example/keys/a/retire").status == 409);

  CHECK(call("DELETE", "/v1/domains/t.example/keys/b").status == 200);
  CHECK(state_of("t.example", "b") == "absent");
  CHECK(call("DELETE", "/v1/domains/t.example/keys/b").status == 404);
}

TEST_CASE_FIXTURE(ApiFixture, "deleting a domain with an active key needs force") {
  REQUIRE(call("POST", "/v1/domains", R"({"domain":"f.example"})").status == 201);
  const Reply refused = call("DELETE", "/v1/domains/f.example");
  CHECK(refused.status == 409);
  CHECK(refused.body["error"] == "conflict");
  CHECK(call("DELETE", "/v1/domains/f.example?force=maybe").status == 400);
  CHECK(call("DELETE", "/v1/domains/f.example?forse=true").status == 400);
  CHECK(call("DELETE", "/v1/domains/f.example?force=true").status == 200);
  CHECK(call("GET", "/v1/domains/f.example").status == 404);
  CHECK(call("DELETE", "/v1/domains/f.example?force=true").status == 404);
}

TEST_CASE_FIXTURE(ApiFixture, "dns without a resolver reports errors rather than hanging") {
  REQUIRE(call("POST", "/v1/domains", R"({"domain":"n.example"})").status == 201);
  const Reply dns = call("GET", "/v1/domains/n.example/dns");
  REQUIRE(dns.status == 200);
  REQUIRE(dns.body["selectors"].size() == 1);
  CHECK(dns.body["selectors"][0]["status"] == "error");
}

TEST_CASE_FIXTURE(ApiFixture, "health, readiness and metrics") {
  CHECK(call("GET", "/healthz").body["status"] == "ok");
  CHECK(call("GET", "/readyz").status == 200);
  const Reply metrics = call("GET", "/metrics");
  CHECK(metrics.status == 200);
  CHECK(metrics.raw.content_type.rfind("text/plain", 0) == 0);
  CHECK(metrics.raw.body.find("dkim_relay_keystore_domains 0\n") != std::string::npos);
}

TEST_CASE("readiness follows the upstream hook") {
  testing::FakeKeyStore store;
  AdminCounters counters;
  bool reachable = false;
  AdminHooks hooks;
  hooks.upstream_reachable = [&] { return reachable; };
  hooks.relay_metrics = [] { return std::string("relay_up 1"); };
  AdminApi api(store, nullptr, hooks, counters, false);
  const auto call = [&](Endpoint endpoint) {
    ApiResponse out;
    api.handle(Route{endpoint, "", "", {}}, "", [&](ApiResponse r) { out = std::move(r); });
    return out;
  };
  CHECK(call(Endpoint::Readyz).status == 503);
  reachable = true;
  CHECK(call(Endpoint::Readyz).status == 200);
  const std::string metrics = call(Endpoint::Metrics).body;
  CHECK(metrics.size() > 10);
  CHECK(metrics.substr(metrics.size() - 11) == "relay_up 1\n");
}

TEST_CASE("the domain JSON shows each key's age, next scheduled step and 'safe to remove from DNS'") {
  testing::FakeKeyStore store;
  AdminCounters counters;
  AdminHooks hooks;
  std::int64_t now = 0;
  hooks.clock = [&now] { return now; };
  hooks.rotation_policy.enabled = true;
  hooks.rotation_policy.interval = std::chrono::seconds(1000);
  hooks.dns_wait = [](const std::string&, const std::string& selector) -> std::optional<dkr::lifecycle::DnsWait> {
    if (selector != "b") return std::nullopt;
    return dkr::lifecycle::DnsWait{"error", "DNS serves a different DKIM key", {"v=DKIM1; p=other"}, 42};
  };
  AdminApi api(store, nullptr, hooks, counters, false);
  auto call = [&](std::string_view method, std::string_view target, std::string_view body) {
    std::optional<ApiResponse> answer;
    api.handle(std::get<Route>(match_route(method, target)), body, [&](ApiResponse r) { answer = std::move(r); });
    REQUIRE(answer.has_value());
    return std::make_pair(answer->status, json::parse(answer->body));
  };
  REQUIRE(call("POST", "/v1/domains", R"({"domain":"s.example","selector":"a"})").first == 201);
  auto [status, rotated] = call("POST", "/v1/domains/s.example/rotate", R"({"activate":"after_dns","selector":"b"})");
  REQUIRE(status == 202);
  const std::int64_t created = rotated["key"]["created_at"].get<std::int64_t>();
  now = created + 30;
  auto [get_status, body] = call("GET", "/v1/domains/s.example", "");
  REQUIRE(get_status == 200);
  for (const auto& key : body["selectors"]) {
    CHECK(key["age_seconds"] == now - key["created_at"].get<std::int64_t>());
    if (key["selector"] == "a") {
      CHECK(key["next_step"] == "rotate");
      CHECK(key["next_step_at"] == key["activated_at"].get<std::int64_t>() + 1000);
      CHECK(key["safe_to_remove_from_dns"] == false);
    } else {
      CHECK(key["next_step"] == "activate_when_dns_serves_it");
      CHECK(key["next_step_at"].is_null());
      CHECK(key["dns_status"]["status"] == "error");
      CHECK(key["dns_status"]["reason"] == "DNS serves a different DKIM key");
    }
  }
}

TEST_CASE_FIXTURE(ApiFixture, "emergency rotation through the API revokes the active key at once") {
  REQUIRE(call("POST", "/v1/domains", R"({"domain":"x.example","selector":"leaked"})").status == 201);
  const Reply rotated = call("POST", "/v1/domains/x.example/rotate", R"({"activate":"after_dns","emergency":true})");
  REQUIRE(rotated.status == 202);
  CHECK(rotated.body["revoked"] == json::array({"leaked"}));
  CHECK(rotated.body["unsigned_until_dns"] == true);
  CHECK(rotated.body["key"]["state"] == "staged");
  CHECK(rotated.body["key"]["activate_after_dns"] == true);
  CHECK(state_of("x.example", "leaked") == "revoked");
  CHECK(call("POST", "/v1/domains/x.example/rotate", R"({"activate":"now","emergency":"yes"})").status == 400);
}

TEST_CASE_FIXTURE(ApiFixture, "a delegated domain needs [dns.publish] on the relay: 400 naming it, nothing created") {
  const Reply refused = call("POST", "/v1/domains", R"({"domain":"deleg.example","delegated":true})");
  CHECK(refused.status == 400);
  CHECK(refused.body["message"].get<std::string>().find("[dns.publish] type = \"rfc2136\"") != std::string::npos);
  CHECK(call("POST", "/v1/domains", R"({"domain":"deleg.example","delegated":true,"selector":"s1"})").status == 400);
  CHECK(call("POST", "/v1/domains", R"({"domain":"deleg.example","delegated":"yes"})").status == 400);
  CHECK(call("GET", "/v1/domains/deleg.example").status == 404);
  // Domains that are not delegated say so, and carry no delegation block.
  REQUIRE(call("POST", "/v1/domains", R"({"domain":"plain.example","selector":"p1"})").status == 201);
  const Reply plain = call("GET", "/v1/domains/plain.example");
  CHECK(plain.body["delegated"] == false);
  CHECK_FALSE(plain.body.contains("delegation"));
  CHECK_FALSE(plain.body["selectors"][0].contains("slot"));
}

TEST_CASE("a domain's rotation policy: GET shows override and effective policy, PUT validates and stores it") {
  testing::FakeKeyStore store;
  AdminCounters counters;
  AdminHooks hooks;
  std::int64_t now = 1'000'000;
  hooks.clock = [&now] { return now; };
  hooks.rotation_policy.enabled = true;
  hooks.rotation_policy.interval = std::chrono::seconds(90 * 86400);
  hooks.rotation_policy.retire_after = std::chrono::seconds(7 * 86400);
  AdminApi api(store, nullptr, hooks, counters, false);
  auto call = [&](std::string_view method, std::string_view target, std::string_view body = "") {
    std::optional<ApiResponse> answer;
    api.handle(std::get<Route>(match_route(method, target)), body, [&](ApiResponse r) { answer = std::move(r); });
    REQUIRE(answer.has_value());
    return std::make_pair(answer->status, json::parse(answer->body));
  };
  REQUIRE(call("POST", "/v1/domains", R"({"domain":"p.example","selector":"a","algorithm":"ed25519-sha256"})").first ==
          201);
  auto [status, plain] = call("GET", "/v1/domains/p.example/rotation");
  REQUIRE(status == 200);
  CHECK(plain["domain"] == "p.example");
  CHECK(plain["opt_out"] == false);
  CHECK(plain["override"]["interval"].is_null());
  CHECK(plain["effective"]["interval"] == 90 * 86400);
  CHECK(plain["effective"]["rotates"] == true);
  CHECK(plain["next_step"] == "rotate");
  CHECK(plain["next_step_key"] == "a");

  auto [put_status, put] =
      call("PUT", "/v1/domains/P.Example/rotation", R"({"interval":"30d","delete_after":86400,"dns_timeout":null})");
  REQUIRE(put_status == 200);
  CHECK(put["override"]["interval"] == 30 * 86400);
  CHECK(put["override"]["delete_after"] == 86400);
  CHECK(put["override"]["retire_after"].is_null());
  CHECK(put["effective"]["retire_after"] == 7 * 86400);
  CHECK(store.domain("p.example")->rotation.interval == 30 * 86400);

  // GET /v1/domains/{d}: the effective policy, its next step, and each key's step on the domain's interval.
  auto [get_status, domain] = call("GET", "/v1/domains/p.example");
  REQUIRE(get_status == 200);
  const std::int64_t activated = domain["selectors"][0]["activated_at"].get<std::int64_t>();
  CHECK(domain["rotation"]["effective"]["interval"] == 30 * 86400);
  CHECK(domain["rotation"]["next_step_at"] == activated + 30 * 86400);
  CHECK(domain["selectors"][0]["next_step_at"] == activated + 30 * 86400);

  // Refused, naming the field; nothing changes.
  auto [short_status, too_short] = call("PUT", "/v1/domains/p.example/rotation", R"({"retire_after":"5m"})");
  CHECK(short_status == 400);
  CHECK(too_short["message"].get<std::string>().find("retire_after") != std::string::npos);
  auto [interval_status, interval] = call("PUT", "/v1/domains/p.example/rotation", R"({"interval":"2h"})");
  CHECK(interval_status == 400);
  CHECK(interval["message"].get<std::string>().find("interval") != std::string::npos);
  for (const char* bad :
       {R"({"interval":"soon"})", R"({"interval":-5})", R"({"opt_out":"yes"})", R"({"ttl":"1d"})", "[1]"}) {
    CAPTURE(bad);
    auto [bad_status, answer] = call("PUT", "/v1/domains/p.example/rotation", bad);
    CHECK(bad_status == 400);
  }
  CHECK(store.domain("p.example")->rotation.interval == 30 * 86400);

  // Opt out: no scheduled step for the active key; PUT {} is the global policy again.
  auto [out_status, out] = call("PUT", "/v1/domains/p.example/rotation", R"({"opt_out":true})");
  REQUIRE(out_status == 200);
  CHECK(out["effective"]["rotates"] == false);
  CHECK(out["next_step"].is_null());
  CHECK(call("GET", "/v1/domains/p.example").second["selectors"][0]["next_step"].is_null());
  CHECK(call("PUT", "/v1/domains/p.example/rotation", "{}").second["effective"]["rotates"] == true);
  CHECK(store.domain("p.example")->rotation.empty());
  CHECK(call("PUT", "/v1/domains/missing.example/rotation", "{}").first == 404);
}

TEST_CASE("a staged key's DNS status comes from the store, so every replica shows the leader's finding") {
  testing::FakeKeyStore store;
  AdminCounters counters;
  AdminHooks hooks;  // no dns_wait: a replica that does not run the scheduler
  AdminApi api(store, nullptr, hooks, counters, false);
  auto call = [&](std::string_view method, std::string_view target, std::string_view body) {
    std::optional<ApiResponse> answer;
    api.handle(std::get<Route>(match_route(method, target)), body, [&](ApiResponse r) { answer = std::move(r); });
    REQUIRE(answer.has_value());
    return json::parse(answer->body);
  };
  call("POST", "/v1/domains", R"({"domain":"r.example","selector":"a"})");
  call("POST", "/v1/domains/r.example/rotate", R"({"activate":"after_dns","selector":"b"})");
  auto staged = [&] {
    const json body = call("GET", "/v1/domains/r.example", "");
    for (const auto& key : body["selectors"]) {
      if (key["selector"] == "b") return key["dns_status"];
    }
    return json();
  };
  CHECK(staged()["reason"] == "not checked yet");
  REQUIRE(*store.record_dns_check("r.example", "b",
                                  {"error", "DNS serves a different DKIM key", {"v=DKIM1; p=other"}, 1234}));
  const json status = staged();
  CHECK(status["status"] == "error");
  CHECK(status["reason"] == "DNS serves a different DKIM key");
  CHECK(status["found"] == json::array({"v=DKIM1; p=other"}));
  CHECK(status["checked_at"] == 1234);
}
