#include "signing_plan.hpp"

#include <algorithm>

#include "signer/from_domain.hpp"

namespace dkr::relay {

SigningPlan plan_signing(std::string_view header_section, const keystore::KeyStore& keys, const RelaySettings& settings,
                         const SigningScope& scope) {
  SigningPlan plan;
  auto domain = signer::extract_from_domain(header_section);
  if (!domain) {
    // 5.7.1: refused by policy. A From: that receivers may read differently is how DMARC
    // alignment gets borrowed, so it is not forwarded even unsigned.
    plan.refusal = make_reply(550, "5.7.1", "Message needs exactly one From: field with one address");
    plan.refusal_reason = domain.error().message;
    return plan;
  }
  plan.from_domain = *domain;
  auto set = keys.signer_for(plan.from_domain);
  if (!may_sign(scope, plan.from_domain, set ? set->domain : plan.from_domain)) {
    plan.refusal = make_reply(550, "5.7.1", "Not authorized to sign for " + plan.from_domain);
    plan.refusal_reason = "not authorized to sign for " + plan.from_domain;
    if (set && set->domain != plan.from_domain) plan.refusal_reason += " (key of parent " + set->domain + ")";
    plan.unauthorized = true;
    return plan;
  }
  if (set) {
    const auto& wanted = settings.signing.algorithms;
    for (const auto& active : set->keys) {
      if (!active.key || std::find(wanted.begin(), wanted.end(), active.key->algorithm()) == wanted.end()) continue;
      signer::SignRequest request;
      request.key = active.key;
      request.options.domain = set->domain;
      request.options.selector = active.selector;
      request.options.canonicalization = settings.signing.canonicalization;
      if (!settings.signing.headers.empty()) request.options.headers = settings.signing.headers;
      if (!settings.signing.oversign.empty()) request.options.oversign = settings.signing.oversign;
      request.options.expire_after = settings.signing.expire_after;
      plan.requests.push_back(std::move(request));
    }
  }
  if (!plan.requests.empty()) return plan;
  plan.no_key = true;
  switch (settings.unsigned_policy) {
    case UnsignedPolicy::Pass:
      break;
    case UnsignedPolicy::Tempfail:
      plan.refusal = make_reply(451, "4.7.1", "No DKIM key for " + plan.from_domain + ", try again later");
      plan.refusal_reason = "no active key";
      break;
    case UnsignedPolicy::Reject:
      plan.refusal = make_reply(550, "5.7.1", "No DKIM key for " + plan.from_domain);
      plan.refusal_reason = "no active key";
      break;
  }
  return plan;
}

}  // namespace dkr::relay
