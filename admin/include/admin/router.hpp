#pragma once
// Maps method + request target onto an API endpoint, or onto the 404/405 that explains why not.
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace dkr::admin {

enum class Endpoint {
  Healthz,
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
  Token,  // GET /v1/token: the caller's own token scope
};

struct Route {
  Endpoint endpoint = Endpoint::Healthz;
  std::string domain;    // percent-decoded path parameter, as sent
  std::string selector;  // percent-decoded path parameter, as sent
  std::map<std::string, std::string> query;
};

struct RouteError {
  int status = 404;  // 404 unknown path, 405 known path with another method, 400 bad encoding
  std::string message;
  std::vector<std::string> allow;  // methods the path supports (for the Allow header of a 405)
};

std::variant<Route, RouteError> match_route(std::string_view method, std::string_view target);

// Endpoints that run under /v1 and may touch the key store (and so are run off the I/O thread).
bool is_keystore_endpoint(Endpoint endpoint);
// Only GET /healthz is served without a token.
bool is_public_path(std::string_view target);

}  // namespace dkr::admin
