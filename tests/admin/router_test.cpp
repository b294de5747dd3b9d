#include <doctest/doctest.h>

#include "admin/router.hpp"

using namespace dkr::admin;

namespace {

Route expect_route(std::string_view method, std::string_view target) {
  auto matched = match_route(method, target);
  REQUIRE_MESSAGE(std::holds_alternative<Route>(matched), method, " ", target);
  return std::get<Route>(matched);
}

RouteError expect_error(std::string_view method, std::string_view target) {
  auto matched = match_route(method, target);
  REQUIRE_MESSAGE(std::holds_alternative<RouteError>(matched), method, " ", target);
  return std::get<RouteError>(matched);
}

}  // namespace

TEST_CASE("every endpoint is routed with its parameters") {
  CHECK(expect_route("GET", "/healthz").endpoint == Endpoint::Healthz);
  CHECK(expect_route("GET", "/readyz").endpoint == Endpoint::Readyz);
  CHECK(expect_route("GET", "/metrics").endpoint == Endpoint::Metrics);
  CHECK(expect_route("GET", "/v1/domains").endpoint == Endpoint::ListDomains);
  CHECK(expect_route("POST", "/v1/domains").endpoint == Endpoint::AddDomain);

  const Route get = expect_route("GET", "/v1/domains/example.com");
  CHECK(get.endpoint == Endpoint::GetDomain);
  CHECK(get.domain == "example.com");

  const Route del = expect_route("DELETE", "/v1/domains/example.com?force=true");
  CHECK(del.endpoint == Endpoint::RemoveDomain);
  CHECK(del.query.at("force") == "true");

  CHECK(expect_route("POST", "/v1/domains/example.com/rotate").endpoint == Endpoint::Rotate);
  CHECK(expect_route("GET", "/v1/domains/example.com/dns").endpoint == Endpoint::DomainDns);

  const Route activate = expect_route("POST", "/v1/domains/example.com/keys/sel-1/activate");
  CHECK(activate.endpoint == Endpoint::ActivateKey);
  CHECK(activate.domain == "example.com");
  CHECK(activate.selector == "sel-1");
  CHECK(expect_route("POST", "/v1/domains/d.org/keys/s/retire").endpoint == Endpoint::RetireKey);
  CHECK(expect_route("POST", "/v1/domains/d.org/keys/s/revoke").endpoint == Endpoint::RevokeKey);
  CHECK(expect_route("DELETE", "/v1/domains/d.org/keys/s").endpoint == Endpoint::RemoveKey);
}

TEST_CASE("path parameters are percent-decoded") {
  const Route route = expect_route("GET", "/v1/domains/ex%61mple.com");
  CHECK(route.domain == "example.com");
  CHECK(expect_error("GET", "/v1/domains/ex%6").status == 400);
  CHECK(expect_error("GET", "/v1/domains/ex%zzmple").status == 400);
}

TEST_CASE("unknown paths are 404, known paths with another method 405 with Allow") {
  CHECK(expect_error("GET", "/nope").status == 404);
  CHECK(expect_error("GET", "/v1/domains/").status == 404);  // empty domain segment
  CHECK(expect_error("GET", "/v1/domains/a/keys").status == 404);
  CHECK(expect_error("GET", "/v1/domains/a/keys/s/explode").status == 404);
  CHECK(expect_error("GET", "/v2/domains").status == 404);

  const RouteError put = expect_error("PUT", "/v1/domains");
  CHECK(put.status == 405);
  CHECK(put.allow == std::vector<std::string>{"GET", "POST"});
  CHECK(expect_error("GET", "/v1/domains/a/rotate").status == 405);
  CHECK(expect_error("POST", "/healthz").status == 405);
  CHECK(expect_error("GET", "/v1/domains/a/keys/s/activate").allow == std::vector<std::string>{"POST"});
  CHECK(expect_error("GET", "relative").status == 400);
}

TEST_CASE("only /healthz is public") {
  CHECK(is_public_path("/healthz"));
  CHECK(is_public_path("/healthz?x=1"));
  CHECK_FALSE(is_public_path("/readyz"));
  CHECK_FALSE(is_public_path("/healthz/"));
  CHECK_FALSE(is_public_path("/metrics"));
  CHECK_FALSE(is_keystore_endpoint(Endpoint::Metrics));
  CHECK(is_keystore_endpoint(Endpoint::Rotate));
}
