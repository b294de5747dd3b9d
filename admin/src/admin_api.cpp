#include "admin/admin_api.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>

#include <spdlog/spdlog.h>

#include "admin/api_names.hpp"
#include "admin/api_requests.hpp"
#include "dns/delegation_status.hpp"
#include "dns/dkim_record.hpp"
#include "dns/publication.hpp"
#include "admin/readiness.hpp"
#include "admin/rotation_policy_json.hpp"
#include "keystore/dns_record.hpp"
#include "common/ascii.hpp"
#include "lifecycle/delegated_slots.hpp"
#include "lifecycle/domain_policy.hpp"
#include "lifecycle/key_lifecycle.hpp"
#include "lifecycle/rotation_policy.hpp"

namespace dkr::admin {

using dns::check_publication;
using dns::dkim_record_name;
using dns::PublicationCheck;
using dns::TxtLookup;
namespace {

using keystore::KeyState;
using nlohmann::json;

json timestamp(std::int64_t seconds) { return seconds == 0 ? json(nullptr) : json(seconds); }

json dns_json(const std::string& domain, const keystore::SelectorInfo& info) {
  const std::string& selector = keystore::dns_selector(info);  // a delegated key's slot
  return {{"name", dkim_record_name(selector, domain)},
          {"type", "TXT"},
          {"value", info.dns_record},
          {"strings", keystore::split_txt_value(info.dns_record)},
          {"zone_line", keystore::zone_file_txt_line(domain, selector, info.dns_record)}};
}

bool has_active_key(const keystore::DomainInfo& info) {
  return std::any_of(info.selectors.begin(), info.selectors.end(),
                     [](const keystore::SelectorInfo& key) { return key.state == KeyState::Active; });
}

// A delegated domain: the CNAMEs its owner publishes once, its slots, and the leader's last
// publishing problem; "status" is filled by a live DNS check (get and list).
json delegation_json(const AdminHooks& hooks, const keystore::DomainInfo& info) {
  json out = {{"zone", hooks.delegation_zone},
              {"cnames", json::array()},
              {"slots", json::array()},
              {"status", nullptr},
              {"detail", ""},
              {"publish_error", nullptr}};
  for (const auto& slot : hooks.delegation_slots) {
    out["cnames"].push_back(dns::owner_cname(slot, info.domain, hooks.delegation_zone));
    const keystore::SelectorInfo* holder = lifecycle::slot_holder(info, slot);
    out["slots"].push_back({{"slot", slot},
                            {"name", dkim_record_name(slot, info.domain)},
                            {"target", dns::delegated_record_name(slot, info.domain, hooks.delegation_zone)},
                            {"key", holder != nullptr ? json(holder->selector) : json(nullptr)},
                            {"state", holder != nullptr ? json(state_name(holder->state)) : json(nullptr)},
                            {"status", nullptr},
                            {"found", ""},
                            {"detail", ""}});
  }
  if (hooks.delegation_slots.empty()) {
    out["publish_error"] = {{"error", "publishing is off on this relay: [dns.publish] type = \"none\""},
                            {"rcode", "off"},
                            {"at", nullptr},
                            {"retry_at", nullptr}};
  } else if (!info.publish_error.empty()) {
    // Stored by the leader, so every replica shows it.
    out["publish_error"] = {{"error", info.publish_error.error},
                            {"rcode", info.publish_error.rcode},
                            {"at", timestamp(info.publish_error.at)},
                            {"retry_at", timestamp(info.publish_error.retry_at)}};
  } else if (hooks.publish_problem) {
    // The leader's memory, for a store that keeps no publishing errors.
    if (auto problem = hooks.publish_problem(info.domain)) {
      out["publish_error"] = {{"error", problem->error},
                              {"rcode", problem->rcode},
                              {"at", timestamp(problem->at)},
                              {"retry_at", timestamp(problem->retry_at)}};
    }
  }
  return out;
}

// What each slot must serve for Connected: the record of its active or retiring key; a staged key's
// only while the domain has no active key yet (its first connection), so a rotation never makes
// a connected domain look pending.
std::vector<dns::SlotExpectation> delegation_expectations(const AdminHooks& hooks, const keystore::DomainInfo& info) {
  const bool active = has_active_key(info);
  std::vector<dns::SlotExpectation> out;
  for (const auto& slot : hooks.delegation_slots) {
    dns::SlotExpectation expected{slot, std::nullopt};
    if (const auto* holder = lifecycle::slot_holder(info, slot);
        holder != nullptr && !holder->dns_record.empty() && (holder->state != KeyState::Staged || !active))
      expected.record = holder->dns_record;
    out.push_back(std::move(expected));
  }
  return out;
}

void fill_delegation_status(json& delegation, const dns::DelegationReport& report, bool active) {
  std::string status(dns::to_string(report.status));
  std::string detail;
  for (const auto& slot : report.slots) {
    for (auto& row : delegation["slots"]) {
      if (row["slot"] != slot.selector) continue;
      row["status"] = std::string(dns::to_string(slot.status));
      row["found"] = slot.found;
      row["detail"] = slot.detail;
    }
    if (detail.empty() && slot.status == report.status && report.status != dns::DelegationStatus::Connected)
      detail = "slot " + slot.selector + ": " + slot.detail;
  }
  if (report.status == dns::DelegationStatus::Connected && !active) {
    // DNS is ready, but mail is signed only once the scheduler activated the first key.
    status = std::string(dns::to_string(dns::DelegationStatus::PendingValidation));
    detail = "the CNAMEs and our record are in place; the first key activates at the scheduler's next check";
  }
  delegation["status"] = status;
  delegation["detail"] = detail;
}

// What the key's lifecycle shows beside its stored state: age, next scheduled step and when, the
// Postmark-style "safe to remove from DNS", and for a staged key what DNS served at the last check.

void add_schedule(const KeyView& key_view, json& out, const std::string& domain, const keystore::SelectorInfo& info) {
  if (key_view.hooks == nullptr) return;
  const lifecycle::KeySchedule s = lifecycle::schedule_of(
      info, lifecycle::effective_policy(key_view.hooks->rotation_policy, key_view.rotation), key_view.now);
  out["age_seconds"] = s.age_seconds;
  out["next_step"] = s.next_step == lifecycle::KeyStep::None ? json(nullptr) : json(lifecycle::to_string(s.next_step));
  out["next_step_at"] = timestamp(s.next_step_at);
  out["safe_to_remove_from_dns"] = s.safe_to_remove_from_dns;
  out["dns_timeout"] = s.dns_timeout;
  if (info.state == KeyState::Staged && info.activate_after_dns) {
    json status = {
        {"status", "pending"}, {"reason", "not checked yet"}, {"found", json::array()}, {"checked_at", nullptr}};
    if (!info.dns_check.status.empty()) {
      // Stored by the leader's scheduler: every replica shows the same finding.
      status = {{"status", info.dns_check.status},
                {"reason", info.dns_check.reason},
                {"found", info.dns_check.found},
                {"checked_at", timestamp(info.dns_check.checked_at)}};
    } else if (key_view.hooks->dns_wait) {
      if (auto wait = key_view.hooks->dns_wait(domain, info.selector)) {
        status = {{"status", wait->status},
                  {"reason", wait->reason},
                  {"found", wait->found},
                  {"checked_at", timestamp(wait->checked_at)}};
      }
    }
    out["dns_status"] = std::move(status);
  }
}

json selector_json(const KeyView& view, const std::string& domain, const keystore::SelectorInfo& info) {
  json out = {{"selector", info.selector},
              {"algorithm", algorithm_name(info.algorithm)},
              {"bits", info.bits},
              {"state", state_name(info.state)},
              {"created_at", timestamp(info.created_at)},
              {"activated_at", timestamp(info.activated_at)},
              {"retired_at", timestamp(info.retired_at)},
              {"revoked_at", timestamp(info.revoked_at)},
              {"activate_after_dns", info.activate_after_dns},
              {"dns", dns_json(domain, info)}};
  if (!info.slot.empty()) out["slot"] = info.slot;           // a delegated domain's key: the DNS selector it signs with
  if (!info.refused.empty()) out["refused"] = info.refused;  // and dns.value is empty: nothing to publish
  add_schedule(view, out, domain, info);
  return out;
}

json domain_json(const KeyView& global_view, const keystore::DomainInfo& info) {
  KeyView view = global_view;
  view.rotation = info.rotation;
  json selectors = json::array();
  for (const auto& selector : info.selectors) selectors.push_back(selector_json(view, info.domain, selector));
  json out = {{"domain", info.domain}, {"selectors", std::move(selectors)}, {"delegated", info.delegated}};
  if (info.delegated && view.hooks != nullptr) out["delegation"] = delegation_json(*view.hooks, info);
  if (view.hooks != nullptr) out["rotation"] = rotation_json(info, view.hooks->rotation_policy, view.now);
  return out;
}

const keystore::SelectorInfo* find_selector(const keystore::DomainInfo& info, std::string_view selector) {
  const std::string wanted = lowercase(selector);
  for (const auto& entry : info.selectors) {
    if (lowercase(entry.selector) == wanted) return &entry;
  }
  return nullptr;
}

const keystore::SelectorInfo* active_key(const keystore::DomainInfo& info) {
  for (const auto& entry : info.selectors) {
    if (entry.state == KeyState::Active) return &entry;
  }
  return nullptr;
}

// The key store says what kind of failure it was; this is the one place that turns a kind into a status.
int status_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid:
      return 400;
    case ErrorCode::not_found:
      return 404;
    case ErrorCode::conflict:
      return 409;
    case ErrorCode::unavailable:
      return 503;
    case ErrorCode::internal:
      return 500;
  }
  return 500;
}

ApiResponse store_error(const Error& error) {
  const int status = status_for(error.code);
  if (status < 500) return error_response(status, error.message);
  // The store's text can name the database host and port, paths or a driver's echo of its
  // connection string: those stay in the relay's log, for the operator, never in a response body.
  spdlog::error("admin: key store error: {}", error.message);
  if (status == 503) {
    return error_response(status,
                          "the key store is unreachable: keys are not changed; relays keep signing with the keys they "
                          "hold (details in the relay's log)");
  }
  return error_response(status, "internal key store error (details in the relay's log)");
}

ApiResponse domain_not_found(std::string_view domain) {
  return error_response(404, "unknown domain '" + std::string(domain) + "'");
}

// Looks up the route's domain; nullopt with `failure` set when it is invalid or unknown.
std::optional<keystore::DomainInfo> lookup_domain(const keystore::KeyStore& store, std::string_view domain,
                                                  ApiResponse& failure) {
  if (!is_valid_domain_name(domain)) {
    failure = error_response(400, "invalid domain name '" + std::string(domain) + "'");
    return std::nullopt;
  }
  auto info = store.domain(domain);
  if (!info) {
    failure = domain_not_found(domain);
    return std::nullopt;
  }
  return std::move(*info);
}

Result<bool> parse_force(const std::map<std::string, std::string>& query) {
  bool force = false;
  for (const auto& [key, value] : query) {
    if (key != "force") return make_error("unknown query parameter '" + key + "'");
    if (value == "true" || value == "1" || value.empty()) {
      force = true;
    } else if (value == "false" || value == "0") {
      force = false;
    } else {
      return make_error("query parameter 'force' must be true or false");
    }
  }
  return force;
}

Result<void> no_query(const std::map<std::string, std::string>& query) {
  if (!query.empty()) return make_error("unknown query parameter '" + query.begin()->first + "'");
  return {};
}

// The lifecycle's rules decide (409 with its reason); on top, a request that would change nothing
// (activating an active key, ...) is a conflict for the API rather than a silent success.
std::optional<ApiResponse> refused_transition(lifecycle::KeyAction action, const keystore::SelectorInfo& key,
                                              std::string_view domain) {
  const auto step = lifecycle::KeyLifecycle::would_change(action, key, domain);
  if (!step) return store_error(step.error());
  if (!*step) return error_response(409, "key is already " + std::string(state_name(key.state)));
  return std::nullopt;
}

}  // namespace

KeyView AdminApi::view() const {
  return {&hooks_, hooks_.clock ? hooks_.clock() : lifecycle::system_clock_seconds(), {}};
}

KeyView AdminApi::view_of(const std::string& domain) const {
  KeyView out = view();
  if (auto info = store_.domain(domain)) out.rotation = info->rotation;
  return out;
}

AdminApi::AdminApi(keystore::KeyStore& store, std::shared_ptr<dns::Resolver> resolver, AdminHooks hooks,
                   AdminCounters& counters, bool per_domain_metrics)
    : store_(store),
      resolver_(std::move(resolver)),
      hooks_(std::move(hooks)),
      counters_(counters),
      per_domain_metrics_(per_domain_metrics) {}

void AdminApi::handle(const Route& route, std::string_view body, Done done) {
  handle(route, body, std::move(done), TokenScope::full_admin());
}

void AdminApi::handle(const Route& route, std::string_view body, Done done, const TokenScope& scope) {
  ApiResponse response;
  try {
    if (auto refused = scope.refusal(route)) return done(std::move(*refused));
    if (route.endpoint != Endpoint::RemoveDomain && route.endpoint != Endpoint::DomainReadiness) {
      if (auto ok = no_query(route.query); !ok) return done(error_response(400, ok.error().message));
    }
    switch (route.endpoint) {
      case Endpoint::Healthz:
      case Endpoint::Livez:
        response = healthz();
        break;
      case Endpoint::Readyz:
        response = readyz(false);
        break;
      case Endpoint::Metrics:
        response = metrics(scope);
        break;
      case Endpoint::ListDomains:
        return list_domains(scope, std::move(done));
      case Endpoint::AddDomain:
        response = add_domain(body, scope);
        break;
      case Endpoint::GetDomain:
        return get_domain(route, std::move(done));
      case Endpoint::RemoveDomain:
        return remove_domain(route, std::move(done));
      case Endpoint::Rotate:
        response = rotate(route, body);
        break;
      case Endpoint::ActivateKey:
      case Endpoint::RetireKey:
      case Endpoint::RevokeKey:
        response = key_action(route, body);
        break;
      case Endpoint::RemoveKey:
        response = remove_key(route, body);
        break;
      case Endpoint::DomainDns:
        return domain_dns(route, std::move(done));
      case Endpoint::DomainReadiness:
        return domain_readiness(route, std::move(done));
      case Endpoint::DomainRotation:
        response = domain_rotation(route);
        break;
      case Endpoint::SetDomainRotation:
        response = set_domain_rotation(route, body);
        break;
      case Endpoint::Token:
        response = json_response(
            200, {{"name", scope.name}, {"role", std::string(to_string(scope.role))}, {"domains", scope.domains}});
        break;
    }
  } catch (const std::exception& e) {
    spdlog::error("admin: request failed: {}", e.what());
    response = error_response(500, "internal error");
  }
  done(std::move(response));
}

ApiResponse AdminApi::healthz() const { return json_response(200, {{"status", "ok"}}); }

void AdminApi::handle_open(const Route& route, Done done) {
  const EndpointSpec& spec = endpoint_spec(route.endpoint);
  if (!spec.on_metrics_listener) return done(error_response(404, "no such endpoint"));
  if (!route.query.empty())
    return done(error_response(400, "unknown query parameter '" + route.query.begin()->first + "'"));
  ApiResponse response;
  try {
    switch (route.endpoint) {
      case Endpoint::Readyz:
        response = readyz(true);
        break;
      case Endpoint::Metrics:
        response = metrics(TokenScope::full_admin("metrics-listener"));
        break;
      default:
        response = healthz();
        break;
    }
  } catch (const std::exception& e) {
    spdlog::error("admin: request failed: {}", e.what());
    response = error_response(500, "internal error");
  }
  done(std::move(response));
}

ApiResponse AdminApi::readyz(bool minimal) const {
  json checks = json::object();
  bool ready = true;
  try {
    (void)store_.list();
    checks["keystore"] = "ok";
    if (hooks_.keystore_ready && !hooks_.keystore_ready()) {
      checks["keystore"] = "loading";
      ready = false;
    }
  } catch (const std::exception& e) {
    checks["keystore"] = std::string("error: ") + e.what();
    ready = false;
  }
  if (hooks_.keystore_refusals) {
    const std::vector<std::string> refused = hooks_.keystore_refusals();
    if (!refused.empty()) {
      checks["keystore"] = "refused " + std::to_string(refused.size()) + " key(s)";
      checks["keystore_refused"] = refused;
    }
  }
  if (hooks_.private_keys_available) {
    const bool available = hooks_.private_keys_available();
    checks["private_keys"] = available ? "ok" : "token unavailable";
    ready = ready && available;
  }
  if (hooks_.upstream_reachable) {
    const bool reachable = hooks_.upstream_reachable();
    checks["upstream"] = reachable ? "ok" : "unreachable";
    ready = ready && reachable;
  }
  // Unauthenticated probes get the verdict only: check details can name hosts and errors.
  if (minimal) return json_response(ready ? 200 : 503, {{"status", ready ? "ready" : "not_ready"}});
  return json_response(ready ? 200 : 503, {{"status", ready ? "ready" : "not_ready"}, {"checks", checks}});
}

std::vector<keystore::DomainInfo> AdminApi::visible_domains(const TokenScope& scope) const {
  auto domains = store_.list();
  std::erase_if(domains, [&](const keystore::DomainInfo& info) { return !scope.covers(info.domain); });
  return domains;
}

ApiResponse AdminApi::metrics(const TokenScope& scope) const {
  ApiResponse response;
  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  response.body = render_metrics(visible_domains(scope), counters_, per_domain_metrics_);
  if (hooks_.relay_metrics) {
    std::string relay = hooks_.relay_metrics();
    if (!relay.empty() && relay.back() != '\n') relay += '\n';
    response.body += relay;
  }
  return response;
}

void AdminApi::list_domains(const TokenScope& scope, Done done) const {
  json domains = json::array();
  std::vector<std::pair<std::size_t, keystore::DomainInfo>> delegated;
  for (const auto& info : visible_domains(scope)) {
    if (info.delegated) delegated.emplace_back(domains.size(), info);
    domains.push_back(domain_json(view(), info));
  }
  json body = {{"domains", std::move(domains)}};
  std::vector<std::pair<json::json_pointer, keystore::DomainInfo>> checks;
  for (auto& [index, info] : delegated) {
    checks.emplace_back(json::json_pointer("/domains/" + std::to_string(index)), std::move(info));
  }
  answer_with_delegation(std::move(body), std::move(checks), std::move(done));
}

void AdminApi::answer_with_delegation(json body,
                                      std::vector<std::pair<json::json_pointer, keystore::DomainInfo>> checks,
                                      Done done) const {
  if (checks.empty() || !resolver_ || hooks_.delegation_slots.empty()) return done(json_response(200, body));
  struct Gather {
    std::mutex mutex;
    json body;
    std::size_t remaining = 0;
    Done done;
  };
  auto gather = std::make_shared<Gather>();
  gather->body = std::move(body);
  gather->remaining = checks.size();
  gather->done = std::move(done);
  for (auto& [pointer, info] : checks) {
    const bool active = has_active_key(info);
    dns::check_delegation(resolver_, info.domain, hooks_.delegation_zone, delegation_expectations(hooks_, info),
                          [gather, pointer = pointer, active](dns::DelegationReport report) {
                            std::unique_lock lock(gather->mutex);
                            fill_delegation_status(gather->body[pointer]["delegation"], report, active);
                            if (--gather->remaining != 0) return;
                            Done finish = std::move(gather->done);
                            json answer = std::move(gather->body);
                            lock.unlock();
                            finish(json_response(200, answer));
                          });
  }
}

ApiResponse AdminApi::add_domain(std::string_view body, const TokenScope& scope) {
  auto request = parse_add_domain(body);
  if (!request) return error_response(400, request.error().message);
  if (!scope.covers(request->domain)) {
    return error_response(403, "token '" + scope.name + "' may not manage domain '" + request->domain + "'");
  }
  if (store_.domain(request->domain)) {
    return error_response(409, "domain '" + request->domain + "' already exists; rotate its keys instead");
  }
  keystore::KeyParams params;
  params.algorithm = request->algorithm.value_or(signer::Algorithm::RsaSha256);
  params.bits = request->bits.value_or(params.algorithm == signer::Algorithm::Ed25519Sha256 ? 256 : 2048);
  params.selector = request->selector;
  if (request->delegated && hooks_.delegation_slots.empty()) {
    return error_response(400,
                          "delegated domains need publishing: set [dns.publish] type = \"rfc2136\" (with server, zone "
                          "and tsig_key_file) on the relays");
  }
  auto created = request->delegated ? lifecycle::KeyLifecycle(store_, hooks_.delegation_slots)
                                          .add_delegated_domain(request->domain, params, view().now)
                                    : lifecycle::KeyLifecycle(store_).add_domain(request->domain, params);
  if (!created) return store_error(created.error());

  auto info = store_.domain(request->domain);
  if (!info) return store_error(info.error());
  json body_json = domain_json(view(), *info);
  body_json["key"] = selector_json(view_of(info->domain), info->domain, *created);
  body_json["dns"] = dns_json(info->domain, *created);
  ApiResponse response = json_response(201, body_json);
  response.headers.emplace_back("Location", "/v1/domains/" + info->domain);
  return response;
}

void AdminApi::get_domain(const Route& route, Done done) const {
  ApiResponse failure;
  const auto info = lookup_domain(store_, route.domain, failure);
  if (!info) return done(std::move(failure));
  std::vector<std::pair<json::json_pointer, keystore::DomainInfo>> checks;
  if (info->delegated) checks.emplace_back(json::json_pointer(""), *info);
  answer_with_delegation(domain_json(view(), *info), std::move(checks), std::move(done));
}

void AdminApi::remove_domain(const Route& route, Done done) {
  const auto force = parse_force(route.query);
  if (!force) return done(error_response(400, force.error().message));
  ApiResponse failure;
  const auto info = lookup_domain(store_, route.domain, failure);
  if (!info) return done(std::move(failure));
  if (const auto* active = active_key(*info); active != nullptr && !*force) {
    return done(error_response(409, "domain '" + info->domain + "' has an active key (selector '" + active->selector +
                                        "'); retire it first or pass ?force=true"));
  }
  if (!info->delegated || !hooks_.publisher || hooks_.delegation_slots.empty()) {
    if (auto removed = lifecycle::KeyLifecycle(store_).remove_domain(info->domain, *force); !removed)
      return done(store_error(removed.error()));
    return done(json_response(200, {{"deleted", info->domain}}));
  }
  // A delegated domain's records are revoked, then deleted, before the domain goes (the endpoint
  // runs on the API's worker thread: the DNS round trips block).
  const auto unpublished = lifecycle::unpublish_delegated(
      *info, *hooks_.publisher, lifecycle::DelegationSettings{hooks_.delegation_zone, hooks_.delegation_slots});
  json records = json::array();
  for (const auto& [name, step] : unpublished.steps) {
    records.push_back({{"name", name}, {"result", std::string(to_string(step.outcome))}, {"detail", describe(step)}});
  }
  if (!unpublished.failed.empty() && !*force) {
    return done(error_response(503, "domain '" + info->domain + "' kept: its DNS records could not be removed (" +
                                        unpublished.failed + "); retry, or pass ?force=true to leave them"));
  }
  if (auto removed = lifecycle::KeyLifecycle(store_).remove_domain(info->domain, true); !removed)
    return done(store_error(removed.error()));
  done(json_response(200, {{"deleted", info->domain}, {"records", std::move(records)}}));
}

ApiResponse AdminApi::rotate(const Route& route, std::string_view body) {
  auto request = parse_rotate(body);
  if (!request) return error_response(400, request.error().message);
  ApiResponse failure;
  const auto info = lookup_domain(store_, route.domain, failure);
  if (!info) return failure;
  if (request->bits) {
    // Without an explicit algorithm the bits are checked against the algorithm(s) rotated.
    const keystore::SelectorInfo* model = active_key(*info);
    const auto algorithm =
        request->algorithm.value_or(model != nullptr ? model->algorithm : signer::Algorithm::RsaSha256);
    if (auto ok = check_bits(algorithm, *request->bits); !ok) return error_response(400, ok.error().message);
  }
  if (request->selector && find_selector(*info, *request->selector) != nullptr) {
    return error_response(409, "selector '" + *request->selector + "' already exists in '" + info->domain + "'");
  }
  // The lifecycle decides what a rotation keeps (every algorithm the domain signs with, and its
  // size), exactly as `keys rotate` does.
  lifecycle::RotateOptions options;
  options.algorithm = request->algorithm;
  options.bits = request->bits;
  options.selector = request->selector;
  options.activation =
      request->activate == Activation::Now ? lifecycle::Activation::Now : lifecycle::Activation::AfterDns;
  options.emergency = request->emergency;
  auto rotated = lifecycle::KeyLifecycle(store_, hooks_.delegation_slots).rotate(info->domain, options);
  if (!rotated) return store_error(rotated.error());
  if (rotated->keys.empty()) return error_response(500, "rotation created no key");

  const KeyView rotated_view = view_of(rotated->domain);
  json keys = json::array();
  for (const auto& key : rotated->keys) keys.push_back(selector_json(rotated_view, rotated->domain, key));
  const auto& first = rotated->keys.front();
  json body_json = {{"domain", rotated->domain},     {"key", selector_json(rotated_view, rotated->domain, first)},
                    {"keys", std::move(keys)},       {"dns", dns_json(rotated->domain, first)},
                    {"retiring", rotated->retiring}, {"revoked", rotated->revoked}};
  if (request->emergency) {
    body_json["unsigned_until_dns"] = request->activate != Activation::Now;
  }
  return json_response(request->activate == Activation::Now ? 201 : 202, body_json);
}

ApiResponse AdminApi::domain_rotation(const Route& route) const {
  ApiResponse failure;
  const auto info = lookup_domain(store_, route.domain, failure);
  if (!info) return failure;
  json body_json = rotation_json(*info, hooks_.rotation_policy, view().now);
  body_json["domain"] = info->domain;
  return json_response(200, body_json);
}

// The same use case as `keys policy`: the effective policy is validated (errors name the field),
// then the override replaces the stored one.
ApiResponse AdminApi::set_domain_rotation(const Route& route, std::string_view body) {
  auto wanted = parse_rotation_override(body);
  if (!wanted) return error_response(400, wanted.error().message);
  ApiResponse failure;
  const auto info = lookup_domain(store_, route.domain, failure);
  if (!info) return failure;
  lifecycle::DomainPolicy policies(store_, hooks_.rotation_policy, hooks_.rotation_limits);
  if (auto stored = policies.set(info->domain, *wanted); !stored) return store_error(stored.error());
  auto after = store_.domain(info->domain);
  if (!after) return store_error(after.error());
  json body_json = rotation_json(*after, hooks_.rotation_policy, view().now);
  body_json["domain"] = after->domain;
  return json_response(200, body_json);
}

ApiResponse AdminApi::key_action(const Route& route, std::string_view body) {
  if (auto ok = parse_empty_body(body); !ok) return error_response(400, ok.error().message);
  ApiResponse failure;
  const auto info = lookup_domain(store_, route.domain, failure);
  if (!info) return failure;
  const keystore::SelectorInfo* key = find_selector(*info, route.selector);
  if (key == nullptr) return error_response(404, "unknown selector '" + route.selector + "' in '" + info->domain + "'");
  const auto action = route.endpoint == Endpoint::ActivateKey ? lifecycle::KeyAction::Activate
                      : route.endpoint == Endpoint::RetireKey ? lifecycle::KeyAction::Retire
                                                              : lifecycle::KeyAction::Revoke;
  if (auto refused = refused_transition(action, *key, info->domain)) return std::move(*refused);

  lifecycle::KeyLifecycle keys(store_);
  Result<void> done;
  switch (route.endpoint) {
    case Endpoint::ActivateKey:
      done = keys.activate_forced(info->domain, key->selector);
      break;
    case Endpoint::RetireKey:
      done = keys.retire(info->domain, key->selector);
      break;
    default:
      done = keys.revoke(info->domain, key->selector);
      break;
  }
  if (!done) return store_error(done.error());

  auto after = store_.domain(info->domain);
  if (!after) return store_error(after.error());
  json body_json = domain_json(view(), *after);
  if (const auto* changed = find_selector(*after, key->selector)) {
    body_json["key"] = selector_json(view_of(after->domain), after->domain, *changed);
  }
  return json_response(200, body_json);
}

ApiResponse AdminApi::remove_key(const Route& route, std::string_view body) {
  if (auto ok = parse_empty_body(body); !ok) return error_response(400, ok.error().message);
  ApiResponse failure;
  const auto info = lookup_domain(store_, route.domain, failure);
  if (!info) return failure;
  const keystore::SelectorInfo* key = find_selector(*info, route.selector);
  if (key == nullptr) return error_response(404, "unknown selector '" + route.selector + "' in '" + info->domain + "'");
  if (auto refused = refused_transition(lifecycle::KeyAction::Remove, *key, info->domain)) return std::move(*refused);
  if (auto removed = lifecycle::KeyLifecycle(store_).remove_key(info->domain, key->selector); !removed)
    return store_error(removed.error());
  return json_response(200, {{"domain", info->domain}, {"deleted", key->selector}});
}

void AdminApi::domain_dns(const Route& route, Done done) const {
  ApiResponse failure;
  const auto info = lookup_domain(store_, route.domain, failure);
  if (!info) return done(std::move(failure));
  if (info->selectors.empty())
    return done(json_response(200, {{"domain", info->domain}, {"selectors", json::array()}}));

  // Lookups run in parallel; the last one to finish answers.
  struct Gather {
    std::mutex mutex;
    json rows;
    std::size_t remaining;
    Done done;
    std::string domain;
  };
  auto gather = std::make_shared<Gather>();
  gather->rows = json::array();
  for (const auto& selector : info->selectors) {
    json row = {{"selector", selector.selector},
                {"state", state_name(selector.state)},
                {"dns", dns_json(info->domain, selector)},
                {"status", "error"},
                {"detail", ""},
                {"found", json::array()}};
    gather->rows.push_back(std::move(row));
  }
  gather->remaining = info->selectors.size();
  gather->done = std::move(done);
  gather->domain = info->domain;

  for (std::size_t i = 0; i < info->selectors.size(); ++i) {
    const auto& selector = info->selectors[i];
    auto complete = [gather, i, expected = selector.dns_record](TxtLookup lookup) {
      const PublicationCheck check = check_publication(lookup, expected);
      std::unique_lock lock(gather->mutex);
      json& row = gather->rows[i];
      row["status"] = to_string(check.status);
      row["detail"] = check.detail;
      row["found"] = lookup.records;
      if (--gather->remaining != 0) return;
      json body = {{"domain", gather->domain}, {"selectors", std::move(gather->rows)}};
      Done finish = std::move(gather->done);
      lock.unlock();
      finish(json_response(200, body));
    };
    if (!resolver_) {
      complete(TxtLookup{TxtLookup::Outcome::Failed, {}, "no DNS resolver available"});
      continue;
    }
    resolver_->resolve_txt(dkim_record_name(selector.selector, info->domain), std::move(complete));
  }
}

void AdminApi::domain_readiness(const Route& route, Done done) const {
  ApiResponse failure;
  const auto info = lookup_domain(store_, route.domain, failure);
  if (!info) return done(std::move(failure));
  ReadinessQuery query;
  query.domain = info->domain;
  query.from_domain = info->domain;
  for (const auto& [key, value] : route.query) {
    if (key != "from") return done(error_response(400, "unknown query parameter '" + key + "'"));
    const std::string from = lowercase(value);
    // The relay signs a From domain with d= the domain itself or its nearest parent in the key store.
    const bool under =
        from == info->domain || (from.size() > info->domain.size() && from.ends_with("." + info->domain));
    if (!is_valid_domain_name(from) || !under) {
      return done(error_response(400, "query parameter 'from' must be " + info->domain + " or a subdomain of it"));
    }
    query.from_domain = from;
  }
  if (const auto* active = active_key(*info)) {
    query.selector = active->selector;
    query.expected_record = active->dns_record;
  }
  check_readiness(resolver_, std::move(query),
                  [done = std::move(done)](nlohmann::json body) { done(json_response(200, body)); });
}

}  // namespace dkr::admin
