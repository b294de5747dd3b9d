#include "admin/endpoint_table.hpp"

#include <array>

namespace dkr::admin {
namespace {

using A = Access;
using S = DomainScope;
using T = RunsOn;

// clang-format off
constexpr std::array kEndpoints = {
  // endpoint                  method    path                                              access     scope          thread       mutates metrics  forbidden
  EndpointSpec{Endpoint::Healthz,         "GET",    "/healthz",                                       A::Public,  S::None,       T::IoThread, false,  true,  ""},
  EndpointSpec{Endpoint::Livez,           "GET",    "/livez",                                         A::Public,  S::None,       T::IoThread, false,  true,  ""},
  EndpointSpec{Endpoint::Readyz,          "GET",    "/readyz",                                        A::Metrics, S::None,       T::IoThread, false,  true,  "read readiness"},
  EndpointSpec{Endpoint::Metrics,         "GET",    "/metrics",                                       A::Metrics, S::Unscoped,   T::IoThread, false,  true,  "read metrics"},
  EndpointSpec{Endpoint::Token,           "GET",    "/v1/token",                                      A::Metrics, S::None,       T::Worker,   false,  false, "read its token"},
  EndpointSpec{Endpoint::ListDomains,     "GET",    "/v1/domains",                                    A::Read,    S::Filtered,   T::Worker,   false,  false, "list domains"},
  EndpointSpec{Endpoint::AddDomain,       "POST",   "/v1/domains",                                    A::Admin,   S::BodyDomain, T::Worker,   true,   false, "add domains"},
  EndpointSpec{Endpoint::GetDomain,       "GET",    "/v1/domains/{domain}",                           A::Read,    S::PathDomain, T::Worker,   false,  false, "read domains"},
  EndpointSpec{Endpoint::RemoveDomain,    "DELETE", "/v1/domains/{domain}",                           A::Admin,   S::PathDomain, T::Worker,   true,   false, "remove domains"},
  EndpointSpec{Endpoint::Rotate,          "POST",   "/v1/domains/{domain}/rotate",                    A::Rotate,  S::PathDomain, T::Worker,   true,   false, "change keys"},
  EndpointSpec{Endpoint::DomainRotation,    "GET", "/v1/domains/{domain}/rotation",                   A::Read,    S::PathDomain, T::Worker,   false,  false, "read domains"},
  EndpointSpec{Endpoint::SetDomainRotation, "PUT", "/v1/domains/{domain}/rotation",                   A::Rotate,  S::PathDomain, T::Worker,   true,   false, "change rotation policies"},
  EndpointSpec{Endpoint::DomainDns,       "GET",    "/v1/domains/{domain}/dns",                       A::Read,    S::PathDomain, T::Worker,   false,  false, "read domains"},
  EndpointSpec{Endpoint::DomainReadiness, "GET",    "/v1/domains/{domain}/readiness",                 A::Read,    S::PathDomain, T::Worker,   false,  false, "read domains"},
  EndpointSpec{Endpoint::RemoveKey,       "DELETE", "/v1/domains/{domain}/keys/{selector}",           A::Rotate,  S::PathDomain, T::Worker,   true,   false, "change keys"},
  EndpointSpec{Endpoint::ActivateKey,     "POST",   "/v1/domains/{domain}/keys/{selector}/activate",  A::Rotate,  S::PathDomain, T::Worker,   true,   false, "change keys"},
  EndpointSpec{Endpoint::RetireKey,       "POST",   "/v1/domains/{domain}/keys/{selector}/retire",    A::Rotate,  S::PathDomain, T::Worker,   true,   false, "change keys"},
  EndpointSpec{Endpoint::RevokeKey,       "POST",   "/v1/domains/{domain}/keys/{selector}/revoke",    A::Rotate,  S::PathDomain, T::Worker,   true,   false, "change keys"},
};
// clang-format on

}  // namespace

std::span<const EndpointSpec> endpoint_table() { return kEndpoints; }

const EndpointSpec& endpoint_spec(Endpoint endpoint) {
  for (const auto& spec : kEndpoints) {
    if (spec.endpoint == endpoint) return spec;
  }
  return kEndpoints.front();  // unreachable: every Endpoint has a row (tests/admin/endpoint_table_test.cpp)
}

std::string_view to_string(Access access) {
  switch (access) {
    case Access::Public:
      return "public";
    case Access::Metrics:
      return "metrics";
    case Access::Read:
      return "read";
    case Access::Rotate:
      return "rotate";
    case Access::Admin:
      return "admin";
  }
  return "admin";
}

std::string_view to_string(DomainScope scope) {
  switch (scope) {
    case DomainScope::None:
      return "none";
    case DomainScope::Unscoped:
      return "unscoped";
    case DomainScope::Filtered:
      return "filtered";
    case DomainScope::PathDomain:
      return "path";
    case DomainScope::BodyDomain:
      return "body";
  }
  return "none";
}

}  // namespace dkr::admin
