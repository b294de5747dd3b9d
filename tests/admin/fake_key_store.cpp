#include "fake_key_store.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <string>

namespace dkr::admin::testing {
namespace {

using keystore::KeyState;

std::string normalise(std::string_view domain) {
  std::string out(domain);
  if (!out.empty() && out.back() == '.') out.pop_back();
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); });
  return out;
}

std::int64_t now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string random_base64(std::size_t bytes) {
  std::string raw(bytes, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(raw.size()));
  std::string out(4 * ((bytes + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(raw.data()), static_cast<int>(raw.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

}  // namespace

std::shared_ptr<const keystore::SigningSet> FakeKeyStore::signer_for(std::string_view) const { return nullptr; }

std::vector<keystore::DomainInfo> FakeKeyStore::list() const {
  std::lock_guard lock(mutex_);
  std::vector<keystore::DomainInfo> out;
  for (const auto& [name, info] : domains_) out.push_back(info);
  return out;
}

Result<keystore::DomainInfo> FakeKeyStore::domain(std::string_view domain) const {
  std::lock_guard lock(mutex_);
  const auto found = domains_.find(normalise(domain));
  if (found == domains_.end()) return make_error("domain not found: " + std::string(domain));
  return found->second;
}

keystore::SelectorInfo FakeKeyStore::make_key(const keystore::KeyParams& params) {
  keystore::SelectorInfo info;
  info.selector = params.selector.value_or("s" + std::to_string(next_selector_++));
  info.algorithm = params.algorithm;
  const bool ed = params.algorithm == signer::Algorithm::Ed25519Sha256;
  info.bits = ed ? 256 : params.bits;
  info.created_at = now();
  info.activate_after_dns = params.activate_after_dns;
  // SubjectPublicKeyInfo of RSA-n is n/8 + 38 bytes (2048 -> 294); Ed25519 publishes the raw 32 bytes.
  info.dns_record = std::string("v=DKIM1; k=") + (ed ? "ed25519" : "rsa") +
                    "; p=" + random_base64(ed ? 32 : static_cast<std::size_t>(params.bits / 8 + 38));
  return info;
}

keystore::SelectorInfo* FakeKeyStore::find(const std::string& domain, std::string_view selector) {
  const auto found = domains_.find(domain);
  if (found == domains_.end()) return nullptr;
  for (auto& info : found->second.selectors) {
    if (info.selector == selector) return &info;
  }
  return nullptr;
}

Result<keystore::SelectorInfo> FakeKeyStore::add_domain(std::string_view domain, const keystore::KeyParams& params) {
  std::lock_guard lock(mutex_);
  const std::string name = normalise(domain);
  if (domains_.count(name) != 0) return make_error("domain already exists: " + name);
  keystore::SelectorInfo key = make_key(params);
  key.state = KeyState::Active;
  key.activated_at = key.created_at;
  key.activate_after_dns = false;
  domains_[name] = keystore::DomainInfo{name, {key}};
  return key;
}

Result<void> FakeKeyStore::remove_domain(std::string_view domain, bool force) {
  std::lock_guard lock(mutex_);
  const auto found = domains_.find(normalise(domain));
  if (found == domains_.end()) return make_error("domain not found");
  const bool active = std::any_of(found->second.selectors.begin(), found->second.selectors.end(),
                                  [](const auto& s) { return s.state == KeyState::Active; });
  if (active && !force) return make_error("refused: domain has an active key");
  domains_.erase(found);
  return {};
}

Result<keystore::SelectorInfo> FakeKeyStore::stage_key(std::string_view domain, const keystore::KeyParams& params) {
  std::lock_guard lock(mutex_);
  const std::string name = normalise(domain);
  const auto found = domains_.find(name);
  if (found == domains_.end()) return make_error("domain not found");
  if (params.selector && find(name, *params.selector) != nullptr) return make_error("selector already exists");
  keystore::SelectorInfo key = make_key(params);
  found->second.selectors.push_back(key);
  return key;
}

Result<keystore::ChangeOutcome> FakeKeyStore::change_states(std::string_view domain,
                                                            const std::vector<keystore::StateChange>& changes) {
  std::lock_guard lock(mutex_);
  const auto found = domains_.find(normalise(domain));
  if (found == domains_.end()) return keystore::ChangeOutcome::Stale;
  keystore::DomainInfo next = found->second;
  for (const auto& change : changes) {
    auto key = std::find_if(next.selectors.begin(), next.selectors.end(),
                            [&](const auto& s) { return s.selector == change.selector; });
    if (key == next.selectors.end() || key->state != change.from) return keystore::ChangeOutcome::Stale;
    if (!change.to) {
      next.selectors.erase(key);
      continue;
    }
    key->state = *change.to;
    if (*change.to == KeyState::Active) {
      key->activated_at = now();
      key->activate_after_dns = false;
    } else if (*change.to == KeyState::Retiring) {
      key->retired_at = now();
    } else if (*change.to == KeyState::Revoked) {
      key->revoked_at = now();
      key->activate_after_dns = false;
      key->dns_record = std::string("v=DKIM1; k=") +
                        (key->algorithm == signer::Algorithm::Ed25519Sha256 ? "ed25519" : "rsa") + "; p=";
    }
  }
  found->second = std::move(next);
  return keystore::ChangeOutcome::Applied;
}

Result<void> FakeKeyStore::set_rotation_override(std::string_view domain, const keystore::RotationOverride& rotation) {
  auto found = domains_.find(normalise(domain));
  if (found == domains_.end()) return make_error(ErrorCode::not_found, "no domain");
  found->second.rotation = rotation;
  return {};
}

Result<bool> FakeKeyStore::record_dns_check(std::string_view domain, std::string_view selector,
                                            const keystore::DnsCheck& check) {
  auto found = domains_.find(normalise(domain));
  if (found == domains_.end()) return false;
  for (auto& key : found->second.selectors) {
    if (key.selector != selector || key.state != KeyState::Staged) continue;
    if (key.dns_check == check) return false;
    key.dns_check = check;
    return true;
  }
  return false;
}

}  // namespace dkr::admin::testing
