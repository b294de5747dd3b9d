#pragma once
// Every endpoint of the admin API, declared once: method, path, who may call it, which domains a
// scoped token must cover, the thread it runs on and whether it changes state. The router, the
// token checks, the server's thread choice, the audit log and the [metrics] listener read this
// table; tests/admin/test_endpoint_table.py checks it against admin/openapi.yaml both ways.
// Adding an endpoint: an Endpoint value, a row below, its case in AdminApi::handle, its openapi entry.
// (Shaped after Envoy's admin.cc, where each handler is one makeHandler(prefix, help, handler,
// removable, mutates_server_state) row.)
#include <span>
#include <string_view>

namespace dkr::admin {

enum class Endpoint {
  Healthz,
  Livez,
  Readyz,
  Metrics,
  ListDomains,
  AddDomain,
  GetDomain,
  RemoveDomain,
  Rotate,
  DomainDns,
  DomainReadiness,
  ActivateKey,
  RetireKey,
  RevokeKey,
  RemoveKey,
  DomainRotation,     // GET /v1/domains/{domain}/rotation
  SetDomainRotation,  // PUT /v1/domains/{domain}/rotation
  Token,              // GET /v1/token: the caller's own token scope (last: tests count up to it)
};

// The lowest token role that may call an endpoint, or none needed. Roles are ordered: each one may
// do what the ones before it may.
enum class Access { Public, Metrics, Read, Rotate, Admin };

enum class DomainScope {
  None,        // no domain involved
  Unscoped,    // fleet-wide answer: only tokens whose domains include "*"
  Filtered,    // answers with the domains the token covers
  PathDomain,  // the {domain} in the path must be covered, else 404 as if it did not exist
  BodyDomain,  // the domain in the request body must be covered (checked by the endpoint, 403)
};

enum class RunsOn {
  IoThread,  // cheap and non-blocking
  Worker,    // touches the key store (key generation, disk, database): the admin worker thread
};

struct EndpointSpec {
  Endpoint endpoint;
  std::string_view method;
  std::string_view path;  // "{domain}" and "{selector}" are path parameters
  Access access;
  DomainScope scope;
  RunsOn runs_on;
  bool mutates;                // changes state: logged as an audit line at info level
  bool on_metrics_listener;    // also served, without a token, by [metrics] listen
  std::string_view forbidden;  // "may not <this>" in a 403 to a token whose role is too low
};

std::span<const EndpointSpec> endpoint_table();
const EndpointSpec& endpoint_spec(Endpoint endpoint);
std::string_view to_string(Access access);
std::string_view to_string(DomainScope scope);

}  // namespace dkr::admin
