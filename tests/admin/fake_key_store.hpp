#pragma once
// An in-memory KeyStore (compare-and-set like the real stores; the rules are lifecycle/'s) and made-up public keys
// (random bytes of a real key's size), so admin tests need neither disk nor key generation.
#include <map>
#include <mutex>

#include "keystore/key_store.hpp"

namespace dkr::admin::testing {

class FakeKeyStore final : public keystore::KeyStore {
 public:
  std::shared_ptr<const keystore::SigningSet> signer_for(std::string_view from_domain) const override;
  std::vector<keystore::DomainInfo> list() const override;
  Result<keystore::DomainInfo> domain(std::string_view domain) const override;
  Result<keystore::SelectorInfo> add_domain(std::string_view domain, const keystore::KeyParams& params) override;
  Result<void> remove_domain(std::string_view domain, bool force) override;
  Result<keystore::SelectorInfo> stage_key(std::string_view domain, const keystore::KeyParams& params) override;
  Result<keystore::ChangeOutcome> change_states(std::string_view domain,
                                                const std::vector<keystore::StateChange>& changes) override;
  Result<void> reload() override { return {}; }
  Result<void> set_rotation_override(std::string_view domain, const keystore::RotationOverride& rotation) override;
  Result<bool> record_dns_check(std::string_view domain, std::string_view selector,
                                const keystore::DnsCheck& check) override;

 private:
  keystore::SelectorInfo make_key(const keystore::KeyParams& params);
  keystore::SelectorInfo* find(const std::string& domain, std::string_view selector);

  mutable std::mutex mutex_;
  std::map<std::string, keystore::DomainInfo> domains_;
  int next_selector_ = 1;
};

}  // namespace dkr::admin::testing
