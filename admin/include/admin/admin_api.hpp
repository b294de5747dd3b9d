#pragma once
// The endpoints of the admin API over a KeyStore, free of HTTP transport concerns: the server
// authenticates and routes, this answers. Unit tests drive it directly.
#include <functional>
#include <memory>
#include <string_view>

#include "admin/admin_metrics.hpp"
#include "admin/admin_settings.hpp"
#include "admin/api_response.hpp"
#include "dns/resolver.hpp"
#include "admin/router.hpp"
#include "admin/token_scope.hpp"
#include "keystore/key_store.hpp"

namespace dkr::admin {

// How keys are shown: with their next scheduled step as of `now`.
struct KeyView {
  const AdminHooks* hooks = nullptr;
  std::int64_t now = 0;
  keystore::RotationOverride rotation;  // the domain's own policy, applied to the global one
};

class AdminApi {
 public:
  using Done = std::function<void(ApiResponse)>;

  // `resolver` may be null (then /dns reports every selector as error).
  AdminApi(keystore::KeyStore& store, std::shared_ptr<dns::Resolver> resolver, AdminHooks hooks,
           AdminCounters& counters, bool per_domain_metrics);

  // Answers a routed, authenticated request. Key store calls block (key generation, disk), so the
  // server runs /v1 endpoints on a worker thread. `done` is called exactly once, on this thread
  // except for /dns, which completes on the resolver's io_context.
  // `scope`: what the caller's token may see and do; without it, everything.
  void handle(const Route& route, std::string_view body, Done done, const TokenScope& scope);
  void handle(const Route& route, std::string_view body, Done done);
  // The [metrics] listener's requests, without a token: only endpoints marked on_metrics_listener in
  // the endpoint table (others 404); /readyz says only ready or not.
  void handle_open(const Route& route, Done done);

 private:
  KeyView view() const;
  ApiResponse healthz() const;
  ApiResponse readyz(bool minimal) const;
  ApiResponse metrics(const TokenScope& scope) const;
  void list_domains(const TokenScope& scope, Done done) const;
  // Answers `body`, after a live delegation check of each domain at its pointer (delegated domains).
  void answer_with_delegation(nlohmann::json body,
                              std::vector<std::pair<nlohmann::json::json_pointer, keystore::DomainInfo>> checks,
                              Done done) const;
  ApiResponse add_domain(std::string_view body, const TokenScope& scope);
  std::vector<keystore::DomainInfo> visible_domains(const TokenScope& scope) const;
  void get_domain(const Route& route, Done done) const;
  void remove_domain(const Route& route, Done done);
  ApiResponse rotate(const Route& route, std::string_view body);
  ApiResponse key_action(const Route& route, std::string_view body);
  ApiResponse remove_key(const Route& route, std::string_view body);
  void domain_dns(const Route& route, Done done) const;
  ApiResponse domain_rotation(const Route& route) const;
  ApiResponse set_domain_rotation(const Route& route, std::string_view body);
  KeyView view_of(const std::string& domain) const;
  void domain_readiness(const Route& route, Done done) const;

  keystore::KeyStore& store_;
  std::shared_ptr<dns::Resolver> resolver_;
  AdminHooks hooks_;
  AdminCounters& counters_;
  bool per_domain_metrics_;
};

}  // namespace dkr::admin
