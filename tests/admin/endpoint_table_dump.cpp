// Prints the admin API's endpoint table as JSON lines, for tests/admin/test_endpoint_table.py to
// compare with admin/openapi.yaml.
#include <iostream>

#include <nlohmann/json.hpp>

#include "admin/endpoint_table.hpp"

int main() {
  using namespace dkr::admin;
  for (const EndpointSpec& spec : endpoint_table()) {
    nlohmann::json row = {{"method", spec.method},
                          {"path", spec.path},
                          {"role", to_string(spec.access)},
                          {"domain_scope", to_string(spec.scope)},
                          {"runs_on", spec.runs_on == RunsOn::Worker ? "worker" : "io"},
                          {"mutates", spec.mutates},
                          {"metrics_listener", spec.on_metrics_listener}};
    std::cout << row.dump() << "\n";
  }
  return 0;
}
