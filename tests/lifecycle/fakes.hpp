#pragma once
// A DNS probe answering from a map the test edits, and a clock the test moves.
#include <map>
#include <mutex>
#include <string>

#include "keystore/directory_key_store.hpp"
#include "lifecycle/key_publication_probe.hpp"
#include "test_support.hpp"

namespace dkr::lifecycle::test {

class FakeProbe final : public KeyPublicationProbe {
 public:
  // What SELECTOR._domainkey.DOMAIN serves (TXT value); absent: nothing.
  std::map<std::string, std::string> records;
  bool down = false;
  int probes = 0;

  ProbeResult probe(std::string_view domain, std::string_view selector, std::string_view expected) override {
    ++probes;
    if (down) return {ProbeResult::Outcome::Failed, "SERVFAIL", {}};
    const auto found = records.find(std::string(selector) + "._domainkey." + std::string(domain));
    if (found == records.end()) return {ProbeResult::Outcome::Missing, "no TXT record", {}};
    // Byte-identical p=, as the real probe compares it.
    auto p = [](std::string_view record) {
      const auto at = record.find("p=");
      return at == std::string_view::npos ? std::string() : std::string(record.substr(at + 2));
    };
    if (p(found->second) == p(expected)) return {ProbeResult::Outcome::Proven, "DNS serves this key", {found->second}};
    return {ProbeResult::Outcome::Mismatch, "DNS serves a different DKIM key", {found->second}};
  }
  void publish(const std::string& domain, const keystore::SelectorInfo& key) {
    records[key.selector + "._domainkey." + domain] = key.dns_record;
  }
};

struct FakeClock {
  std::int64_t now = 1'790'000'000;
  std::function<std::int64_t()> function() {
    return [this] { return now; };
  }
};

inline std::unique_ptr<keystore::DirectoryKeyStore> store_at(const std::filesystem::path& path, FakeClock& clock) {
  keystore::DirectoryKeyStoreOptions options;
  options.path = path;
  options.selector_pattern = "k{seq}";
  options.clock = clock.function();
  return keystore::test::open_store(options);
}

inline const keystore::SelectorInfo* key_named(const keystore::DomainInfo& info, std::string_view selector) {
  for (const auto& key : info.selectors) {
    if (key.selector == selector) return &key;
  }
  return nullptr;
}

inline std::size_t count_in(const keystore::DomainInfo& info, keystore::KeyState state) {
  std::size_t n = 0;
  for (const auto& key : info.selectors) n += key.state == state ? 1 : 0;
  return n;
}

}  // namespace dkr::lifecycle::test
