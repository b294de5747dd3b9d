// The admin API's request parsing: the router on raw method + request target, and the JSON body
// readers on raw bodies. All of it runs before any authorization decision but the token check,
// and all of it must answer with a value, never an exception.
//
// Input: "<method>\n<target>\n<body>" (missing parts are empty).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "admin/api_requests.hpp"
#include "admin/bearer_auth.hpp"
#include "dns/dkim_record.hpp"
#include "admin/json_body.hpp"
#include "admin/router.hpp"
#include "fuzz_check.hpp"

namespace {

using dkr::fuzz::check;

std::string_view next_line(std::string_view& rest) {
  const auto nl = rest.find('\n');
  std::string_view line = rest.substr(0, nl);
  rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
  return line;
}

void check_route(std::string_view method, std::string_view target, std::string_view input) {
  const auto matched = dkr::admin::match_route(method, target);
  if (const auto* error = std::get_if<dkr::admin::RouteError>(&matched)) {
    check(error->status == 400 || error->status == 404 || error->status == 405, "route error status not 400/404/405",
          input);
    check(error->status != 405 || !error->allow.empty(), "405 without an Allow list", input);
    check(!error->message.empty(), "route error without a message", input);
    return;
  }
  const auto& route = std::get<dkr::admin::Route>(matched);
  // Only the probes (/healthz, /livez) are unauthenticated; nothing else may be routed as public.
  if (dkr::admin::is_public_path(target)) {
    check(route.endpoint == dkr::admin::Endpoint::Healthz || route.endpoint == dkr::admin::Endpoint::Livez,
          "a public path routed to an endpoint other than healthz or livez", input);
    check(dkr::admin::endpoint_spec(route.endpoint).access == dkr::admin::Access::Public &&
              !dkr::admin::endpoint_spec(route.endpoint).mutates,
          "a public path routed to an endpoint that needs a token or changes state", input);
  }
  (void)dkr::admin::is_keystore_endpoint(route.endpoint);
}

void check_bodies(std::string_view body, std::string_view input) {
  if (auto request = dkr::admin::parse_add_domain(body)) {
    check(dkr::admin::is_valid_domain_name(request->domain), "add-domain accepted an invalid domain", input);
    if (request->selector) {
      check(dkr::admin::is_valid_selector(*request->selector), "add-domain accepted an invalid selector", input);
    }
    if (request->bits) {
      check(dkr::admin::check_bits(request->algorithm.value_or(dkr::signer::Algorithm::RsaSha256), *request->bits).ok(),
            "add-domain accepted bits that check_bits refuses", input);
    }
  } else {
    check(!request.error().message.empty(), "add-domain error without a message", input);
  }
  if (auto request = dkr::admin::parse_rotate(body)) {
    if (request->selector) {
      check(dkr::admin::is_valid_selector(*request->selector), "rotate accepted an invalid selector", input);
    }
    if (request->bits && request->algorithm) {
      check(dkr::admin::check_bits(*request->algorithm, *request->bits).ok(),
            "rotate accepted bits that check_bits refuses", input);
    }
  }
  (void)dkr::admin::parse_empty_body(body);
  if (auto object = dkr::admin::parse_json_object(body)) {
    check(object->is_object(), "parse_json_object returned a non-object", input);
    (void)dkr::admin::check_fields(*object, {{"domain", dkr::admin::FieldType::String, true},
                                             {"bits", dkr::admin::FieldType::Integer},
                                             {"enabled", dkr::admin::FieldType::Boolean}});
  }
}

void check_dns_text(std::string_view text, std::string_view input) {
  if (auto key = dkr::dns::dkim_public_key(text)) {
    check(key->find_first_of(" \t\r\n") == std::string::npos, "dkim_public_key kept whitespace", input);
  }
  if (auto credentials = dkr::admin::bearer_credentials(text)) {
    check(credentials->size() <= text.size(), "bearer credentials longer than the header", input);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view rest = input;
  const std::string_view method = next_line(rest);
  const std::string_view target = next_line(rest);
  const std::string_view body = rest;

  check_route(method, target, input);
  check_bodies(body, input);
  check_dns_text(body, input);
  (void)dkr::admin::is_valid_domain_name(target);
  (void)dkr::admin::is_valid_selector(target);
  return 0;
}
