#include <doctest/doctest.h>

#include <set>
#include <string>

#include "admin/endpoint_table.hpp"
#include "admin/router.hpp"
#include "admin/token_scope.hpp"

using namespace dkr::admin;

namespace {

// A concrete request target for a table path.
std::string sample_target(std::string_view path) {
  std::string target(path);
  for (const auto& [param, value] : {std::pair{"{domain}", "example.com"}, std::pair{"{selector}", "s1"}}) {
    if (const auto at = target.find(param); at != std::string::npos)
      target.replace(at, std::string(param).size(), value);
  }
  return target;
}

}  // namespace

TEST_CASE("every endpoint has exactly one row, and the router maps each row's path to it") {
  std::set<int> seen;
  std::set<std::pair<std::string, std::string>> routes;
  for (const EndpointSpec& spec : endpoint_table()) {
    CHECK_MESSAGE(seen.insert(static_cast<int>(spec.endpoint)).second, spec.path);
    CHECK_MESSAGE(routes.insert({std::string(spec.method), std::string(spec.path)}).second, spec.path);
    CHECK(&endpoint_spec(spec.endpoint) == &spec);
    const auto routed = match_route(spec.method, sample_target(spec.path));
    REQUIRE_MESSAGE(std::holds_alternative<Route>(routed), spec.method, " ", spec.path);
    CHECK(std::get<Route>(routed).endpoint == spec.endpoint);
    CHECK(is_keystore_endpoint(spec.endpoint) == (spec.runs_on == RunsOn::Worker));
    CHECK(is_public_path(sample_target(spec.path)) == (spec.access == Access::Public && spec.method == "GET"));
  }
  CHECK(seen.size() == static_cast<std::size_t>(Endpoint::Token) + 1);
}

TEST_CASE("token checks follow the table's role and domain scope") {
  const TokenScope metrics{"scraper", TokenRole::Metrics, {"*"}};
  const TokenScope tenant_admin{"tenant", TokenRole::Admin, {"example.com"}};
  const TokenScope fleet_read{"fleet", TokenRole::Read, {"*"}};
  for (const EndpointSpec& spec : endpoint_table()) {
    Route route;
    route.endpoint = spec.endpoint;
    route.domain = "example.com";
    // A role is enough exactly when it is at least the row's.
    const bool metrics_may = spec.access == Access::Public || spec.access == Access::Metrics;
    CHECK_MESSAGE(metrics.refusal(route).has_value() == !metrics_may, spec.path);
    const bool read_may = spec.access <= Access::Read;
    CHECK_MESSAGE(fleet_read.refusal(route).has_value() == !read_may, spec.path);
    // Fleet-wide answers are for unscoped tokens only, whatever the role.
    if (spec.scope == DomainScope::Unscoped) {
      REQUIRE(tenant_admin.refusal(route).has_value());
      CHECK(tenant_admin.refusal(route)->status == 403);
    }
  }
  // A domain outside the scope is hidden (404) before the role is looked at.
  Route other;
  other.endpoint = Endpoint::RemoveDomain;
  other.domain = "other.org";
  const TokenScope tenant_read{"tenant-read", TokenRole::Read, {"example.com"}};
  REQUIRE(tenant_read.refusal(other).has_value());
  CHECK(tenant_read.refusal(other)->status == 404);
}
