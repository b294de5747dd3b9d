#pragma once
// Maps method + request target onto an API endpoint, or onto the 404/405 that explains why not.
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "admin/endpoint_table.hpp"

namespace dkr::admin {

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

// From the endpoint table: whether it runs on the admin worker thread (it may touch the key store).
bool is_keystore_endpoint(Endpoint endpoint);
// Whether GET on `target` reaches an endpoint that needs no token (Access::Public).
bool is_public_path(std::string_view target);

}  // namespace dkr::admin
