#include "lifecycle/key_lifecycle.hpp"

#include <algorithm>
#include <ctime>
#include <map>

#include <spdlog/spdlog.h>

#include "keystore/domain_name.hpp"
#include "lifecycle/delegated_slots.hpp"

namespace dkr::lifecycle {
namespace {

// The audit log names a domain as the store keeps it (its A-label): the caller's spelling may hold
// characters a terminal acts on. Only called after the store accepted the name.
std::string stored_name(std::string_view domain) {
  auto name = keystore::normalize_domain(domain);
  return name ? *name : std::string("(unnamed)");
}

using keystore::KeyState;
using keystore::SelectorInfo;

Result<void> to_void(const Result<bool>& changed) {
  if (!changed) return changed.error();
  return {};
}

int default_bits(signer::Algorithm algorithm) { return algorithm == signer::Algorithm::Ed25519Sha256 ? 256 : 2048; }

const SelectorInfo* find_key(const keystore::DomainInfo& info, std::string_view selector) {
  for (const auto& key : info.selectors) {
    if (key.selector == selector) return &key;
  }
  return nullptr;
}

}  // namespace

std::string_view to_string(ProbeResult::Outcome outcome) {
  switch (outcome) {
    case ProbeResult::Outcome::Proven:
      return "proven";
    case ProbeResult::Outcome::Missing:
      return "missing";
    case ProbeResult::Outcome::Mismatch:
      return "mismatch";
    case ProbeResult::Outcome::Failed:
      return "failed";
  }
  return "failed";
}

Result<std::vector<keystore::KeyParams>> KeyLifecycle::successor_params(const keystore::DomainInfo& info,
                                                                        const RotateOptions& options) {
  // The model of each algorithm: its active key, else its newest key of any state (after an
  // emergency rotation the domain has none active).
  std::map<signer::Algorithm, const SelectorInfo*> models;
  for (const auto& key : info.selectors) {
    const SelectorInfo*& model = models[key.algorithm];
    const bool better = model == nullptr || (key.state == KeyState::Active && model->state != KeyState::Active) ||
                        (model->state != KeyState::Active && key.created_at >= model->created_at);
    if (better) model = &key;
  }
  bool any_active = false;
  for (const auto& [algorithm, model] : models) any_active = any_active || model->state == KeyState::Active;
  if (any_active) std::erase_if(models, [](const auto& entry) { return entry.second->state != KeyState::Active; });

  std::vector<keystore::KeyParams> result;
  auto add = [&](signer::Algorithm algorithm, const SelectorInfo* model) {
    keystore::KeyParams params;
    params.algorithm = algorithm;
    params.bits = algorithm == signer::Algorithm::Ed25519Sha256
                      ? 256
                      : options.bits.value_or(model != nullptr ? model->bits : default_bits(algorithm));
    params.selector = options.selector;
    params.activate_after_dns = options.activation == Activation::AfterDns;
    result.push_back(std::move(params));
  };
  if (options.algorithm) {
    const auto model = models.find(*options.algorithm);
    add(*options.algorithm, model == models.end() ? nullptr : model->second);
  } else if (models.empty()) {
    add(signer::Algorithm::RsaSha256, nullptr);
  } else {
    for (const auto& [algorithm, model] : models) add(algorithm, model);
  }
  if (options.selector && result.size() > 1) {
    return make_error(ErrorCode::invalid, "domain " + info.domain +
                                              " signs with more than one algorithm; name the algorithm to "
                                              "rotate with a selector, or leave the selector out");
  }
  return result;
}

Result<SelectorInfo> KeyLifecycle::add_domain(std::string_view domain, const keystore::KeyParams& params) {
  auto created = store_.add_domain(domain, params);
  if (created)
    spdlog::info("lifecycle audit: added domain {} with {} key {}", stored_name(domain),
                 signer::to_string(created->algorithm), created->selector);
  return created;
}

Result<SelectorInfo> KeyLifecycle::add_delegated_domain(std::string_view domain, keystore::KeyParams params,
                                                        std::int64_t now) {
  if (slots_.size() < 2) {
    return make_error(ErrorCode::invalid,
                      "delegated domains need publishing: set [dns.publish] type = \"rfc2136\" with its server, zone "
                      "and tsig_key_file");
  }
  if (store_.domain(domain)) {
    return make_error(ErrorCode::conflict, "domain " + stored_name(domain) + " already exists");
  }
  keystore::DomainInfo empty;
  params.delegated = true;
  params.slot = slots_.front();
  params.selector = delegated_key_name(empty, slots_.front(), now);
  params.activate_after_dns = true;
  auto staged = store_.stage_key(domain, params);
  if (staged)
    spdlog::info(
        "lifecycle audit: added delegated domain {} with {} key {} in slot {}; it activates once DNS serves it "
        "through the owner's CNAME (until then mail follows relay.unsigned)",
        stored_name(domain), signer::to_string(staged->algorithm), staged->selector, params.slot.value_or(""));
  return staged;
}

Result<SelectorInfo> KeyLifecycle::stage(std::string_view domain, const keystore::KeyParams& params) {
  auto staged = store_.stage_key(domain, params);
  if (staged) {
    spdlog::info("lifecycle audit: staged {} key {} for {}{}", signer::to_string(staged->algorithm), staged->selector,
                 stored_name(domain), params.activate_after_dns ? " (activates once DNS serves it)" : "");
  }
  return staged;
}

Result<void> KeyLifecycle::activate_forced(std::string_view domain, std::string_view selector) {
  auto done = to_void(apply_transition(store_, domain, selector, KeyAction::Activate));
  if (done)
    spdlog::info("lifecycle audit: activated {} for {} (operator, without a DNS check)", selector, stored_name(domain));
  return done;
}

Result<bool> KeyLifecycle::activate_if_proven(std::string_view domain, const SelectorInfo& key,
                                              KeyPublicationProbe& probe, ProbeResult* seen) {
  // A delegated key is looked up under its slot, through the owner's CNAME.
  ProbeResult result = probe.probe(domain, keystore::dns_selector(key), key.dns_record);
  if (seen != nullptr) *seen = result;
  return activate_on_proof(domain, key, result);
}

Result<bool> KeyLifecycle::activate_on_proof(std::string_view domain, const SelectorInfo& key,
                                             const ProbeResult& result) {
  if (result.outcome != ProbeResult::Outcome::Proven) {
    return make_error(ErrorCode::conflict, "DNS does not serve key " + key.selector + " of " + std::string(domain) +
                                               " (" + std::string(to_string(result.outcome)) + "): " + result.detail);
  }
  auto changed = apply_transition(store_, domain, key.selector, KeyAction::Activate, KeyState::Staged);
  if (changed && *changed) {
    spdlog::info("lifecycle audit: activated {} for {} after DNS served its public key (staged since {})", key.selector,
                 stored_name(domain), key.created_at);
  }
  return changed;
}

Result<void> KeyLifecycle::retire(std::string_view domain, std::string_view selector) {
  auto done = to_void(apply_transition(store_, domain, selector, KeyAction::Retire));
  if (done) spdlog::info("lifecycle audit: retired {} for {}", selector, stored_name(domain));
  return done;
}

Result<void> KeyLifecycle::revoke(std::string_view domain, std::string_view selector) {
  auto done = to_void(apply_transition(store_, domain, selector, KeyAction::Revoke));
  if (done) spdlog::info("lifecycle audit: revoked {} for {}", selector, stored_name(domain));
  return done;
}

Result<void> KeyLifecycle::remove_key(std::string_view domain, std::string_view selector) {
  auto done = to_void(apply_transition(store_, domain, selector, KeyAction::Remove));
  if (done) spdlog::info("lifecycle audit: deleted {} of {}", selector, stored_name(domain));
  return done;
}

Result<void> KeyLifecycle::remove_domain(std::string_view domain, bool force) {
  auto done = store_.remove_domain(domain, force);
  if (done) spdlog::info("lifecycle audit: removed domain {}{}", stored_name(domain), force ? " (forced)" : "");
  return done;
}

Result<RotationOutcome> KeyLifecycle::rotate(std::string_view domain, const RotateOptions& options) {
  auto info = store_.domain(domain);
  if (!info) return info.error();
  if (options.selector && find_key(*info, *options.selector) != nullptr) {
    return make_error(ErrorCode::conflict,
                      "selector '" + *options.selector + "' already exists in '" + info->domain + "'");
  }
  RotateOptions effective = options;
  // An emergency's successor must not wait for a person: it activates once DNS serves it.
  if (effective.emergency && effective.activation == Activation::Manual) effective.activation = Activation::AfterDns;
  auto wanted = successor_params(*info, effective);
  if (!wanted) return wanted.error();
  if (info->delegated) {
    // A delegated domain rotates through its slots: one key, into the idle slot, activated once DNS
    // serves it (we publish it; nobody vouches for DNS by hand).
    if (slots_.size() < 2)
      return make_error(ErrorCode::invalid,
                        "domain " + info->domain + " is delegated: rotating it needs [dns.publish] type = \"rfc2136\"");
    if (options.selector)
      return make_error(ErrorCode::invalid, "domain " + info->domain + " is delegated: its keys are named by slot");
    const auto slot = idle_slot(*info, slots_);
    if (!slot)
      return make_error(ErrorCode::conflict, "domain " + info->domain +
                                                 " is delegated and every slot holds a key; rotate again once the "
                                                 "retiring key is revoked");
    wanted->resize(1);
    wanted->front().slot = *slot;
    const std::int64_t created = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::time(nullptr)));
    wanted->front().selector = delegated_key_name(*info, *slot, created);
    wanted->front().activate_after_dns = true;
    effective.activation = Activation::AfterDns;
  }

  RotationOutcome outcome;
  outcome.domain = info->domain;
  std::vector<std::string> active;
  for (const auto& key : info->selectors) {
    if (key.state != KeyState::Active) continue;
    const bool replaced = std::any_of(wanted->begin(), wanted->end(),
                                      [&](const keystore::KeyParams& p) { return p.algorithm == key.algorithm; });
    if (replaced) active.push_back(key.selector);
  }

  // Emergency: the leaked keys stop signing first; nothing the rest does can bring them back.
  if (effective.emergency && effective.activation == Activation::AfterDns) {
    for (const std::string& selector : active) {
      if (auto r = apply_transition(store_, info->domain, selector, KeyAction::Retire, KeyState::Active); !r)
        return r.error();
      if (auto r = apply_transition(store_, info->domain, selector, KeyAction::Revoke, KeyState::Retiring); !r)
        return r.error();
      spdlog::warn(
          "lifecycle audit: emergency rotation of {}: revoked {} at once; until its successor's DNS record "
          "is seen, mail from {} follows relay.unsigned",
          info->domain, selector, info->domain);
      outcome.revoked.push_back(selector);
    }
  }
  for (const auto& params : *wanted) {
    auto staged = stage(info->domain, params);
    if (!staged) return staged.error();
    outcome.keys.push_back(std::move(*staged));
  }
  if (effective.activation == Activation::Now) {
    for (auto& key : outcome.keys) {
      if (auto activated = activate_forced(info->domain, key.selector); !activated) {
        return make_error(activated.error().code,
                          "staged " + key.selector + " but could not activate it: " + activated.error().message);
      }
      key.state = KeyState::Active;
    }
    outcome.retiring = active;
    if (options.emergency) {
      for (const std::string& selector : active) {
        if (auto r = apply_transition(store_, info->domain, selector, KeyAction::Revoke, KeyState::Retiring); !r)
          return r.error();
        spdlog::warn("lifecycle audit: emergency rotation of {}: revoked {}", info->domain, selector);
        outcome.revoked.push_back(selector);
      }
      outcome.retiring.clear();
    }
  }
  if (auto after = store_.domain(info->domain)) {
    for (auto& key : outcome.keys) {
      if (const auto* stored = find_key(*after, key.selector)) key = *stored;
    }
  }
  return outcome;
}

Result<bool> KeyLifecycle::would_change(KeyAction action, const keystore::SelectorInfo& key, std::string_view domain) {
  return lifecycle_step(action, key.state, "selector '" + key.selector + "' of " + std::string(domain));
}

}  // namespace dkr::lifecycle
