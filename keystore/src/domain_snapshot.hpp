#pragma once
// The immutable map of domains that both key stores serve lookups from, and its read side
// (signer_for, list, domain, stats), so the directory and PostgreSQL stores answer alike.
//
// Entry is the store's per-domain type; it needs `DomainInfo info`, `bool has_active` and
// `const std::shared_ptr<const SigningSet>& signing_set() const`.
//
// The map is split into 256 shards: a change copies only the shards it touches (100k domains / 256
// shards ~ 400 pointers each) and the shard array; every other shard and entry is shared with the
// previous snapshot.
#include <algorithm>
#include <array>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "keystore/directory_key_store.hpp"
#include "keystore/domain_name.hpp"
#include "keystore/key_store.hpp"

namespace dkr::keystore {

// A domain's active keys (one per algorithm), sorted by algorithm, from its key slots (each with
// selector() and key()); null when an active key cannot be used (reported through `unusable(slot)`),
// rather than a set missing a key.
template <class Slots, class Unusable>
std::shared_ptr<const SigningSet> make_signing_set(const DomainInfo& info, const Slots& keys, Unusable&& unusable) {
  auto set = std::make_shared<SigningSet>();
  set->domain = info.domain;
  for (const SelectorInfo& selector : info.selectors) {
    if (selector.state != KeyState::Active) continue;
    for (const auto& slot : keys) {
      if (slot->selector() != selector.selector) continue;
      if (!slot->key()) {
        unusable(*slot);
        return nullptr;
      }
      set->keys.push_back(ActiveKey{dns_selector(selector), slot->key()});
    }
  }
  std::sort(set->keys.begin(), set->keys.end(),
            [](const ActiveKey& a, const ActiveKey& b) { return a.key->algorithm() < b.key->algorithm(); });
  if (set->keys.empty()) return nullptr;
  return set;
}

template <class Entry>
class DomainSnapshot {
 public:
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view name) const noexcept { return std::hash<std::string_view>{}(name); }
  };
  using EntryPtr = std::shared_ptr<const Entry>;
  using Shard = std::unordered_map<std::string, EntryPtr, NameHash, std::equal_to<>>;
  using Changes = std::vector<std::pair<std::string, EntryPtr>>;
  static constexpr std::size_t kShardCount = 256;

  static std::size_t shard_index(std::string_view name) {
    // Different bits than the buckets inside the shard use (hash % prime).
    return static_cast<std::size_t>((NameHash{}(name)*0x9E3779B97F4A7C15ull) >> 56) % kShardCount;
  }

  static std::shared_ptr<const DomainSnapshot> empty() {
    auto snapshot = std::make_shared<DomainSnapshot>();
    const auto shard = std::make_shared<const Shard>();
    snapshot->shards_.fill(shard);
    return snapshot;
  }

  // A snapshot of exactly these entries (a full reload).
  static std::shared_ptr<const DomainSnapshot> of(Changes entries) {
    auto snapshot = std::make_shared<DomainSnapshot>();
    std::array<std::shared_ptr<Shard>, kShardCount> shards;
    for (auto& shard : shards) shard = std::make_shared<Shard>();
    for (auto& [name, entry] : entries) {
      if (entry && shards[shard_index(name)]->emplace(std::move(name), std::move(entry)).second) ++snapshot->domains_;
    }
    for (std::size_t i = 0; i < kShardCount; ++i) snapshot->shards_[i] = std::move(shards[i]);
    return snapshot;
  }

  std::size_t domains() const { return domains_; }

  const EntryPtr* find(std::string_view name) const {
    const Shard& shard = *shards_[shard_index(name)];
    const auto it = shard.find(name);
    return it == shard.end() ? nullptr : &it->second;
  }

  template <class Visit>
  void for_each(Visit&& visit) const {
    for (const auto& shard : shards_) {
      for (const auto& [name, entry] : *shard) visit(name, *entry);
    }
  }

  // A new snapshot with these entries replaced (null entry: domain removed).
  std::shared_ptr<const DomainSnapshot> with(const Changes& changes) const {
    auto next = std::make_shared<DomainSnapshot>(*this);
    std::unordered_map<std::size_t, std::shared_ptr<Shard>> copied;
    for (const auto& [name, entry] : changes) {
      const std::size_t index = shard_index(name);
      auto& shard = copied[index];
      if (!shard) shard = std::make_shared<Shard>(*shards_[index]);
      if (entry) {
        if (shard->insert_or_assign(name, entry).second) ++next->domains_;
      } else if (shard->erase(name) > 0) {
        --next->domains_;
      }
    }
    for (auto& [index, shard] : copied) next->shards_[index] = std::move(shard);
    return next;
  }

  // KeyStore::signer_for on this snapshot.
  std::shared_ptr<const SigningSet> signer_for(std::string_view from_domain) const {
    if (!from_domain.empty() && from_domain.back() == '.') from_domain.remove_suffix(1);
    // Fast path: ASCII names are lowercased into a stack buffer, no allocation.
    char buffer[kMaxDomainLength];
    std::string idna;
    std::string_view name;
    bool ascii = from_domain.size() <= kMaxDomainLength;
    for (std::size_t i = 0; ascii && i < from_domain.size(); ++i) {
      const char c = from_domain[i];
      ascii = static_cast<unsigned char>(c) < 0x80;
      buffer[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    }
    if (ascii) {
      name = std::string_view(buffer, from_domain.size());
    } else {
      auto normalized = normalize_domain(from_domain);
      if (!normalized) return nullptr;
      idna = std::move(*normalized);
      name = idna;
    }
    while (true) {
      if (const auto* entry = find(name); entry != nullptr && (*entry)->has_active) {
        if (const auto& set = (*entry)->signing_set()) return set;
      }
      const std::size_t dot = name.find('.');
      if (dot == std::string_view::npos) break;
      name.remove_prefix(dot + 1);
      if (name.find('.') == std::string_view::npos) break;  // never fall back to a TLD
    }
    return nullptr;
  }

  std::vector<DomainInfo> list() const {
    std::vector<DomainInfo> domains;
    domains.reserve(domains_);
    for_each([&](const std::string&, const Entry& entry) { domains.push_back(entry.info); });
    std::sort(domains.begin(), domains.end(),
              [](const DomainInfo& a, const DomainInfo& b) { return a.domain < b.domain; });
    return domains;
  }

  Result<DomainInfo> domain(std::string_view domain) const {
    auto name = normalize_domain(domain);
    if (!name) return name.error();
    if (const auto* entry = find(*name)) return (*entry)->info;
    return make_error(ErrorCode::not_found, "no domain " + *name + " in the key store");
  }

  KeyStoreStats stats() const {
    KeyStoreStats stats;
    stats.domains = domains_;
    for_each([&](const std::string&, const Entry& entry) {
      for (const SelectorInfo& info : entry.info.selectors) ++stats.keys_by_state[static_cast<std::size_t>(info.state)];
    });
    return stats;
  }

 private:
  std::array<std::shared_ptr<const Shard>, kShardCount> shards_;
  std::size_t domains_ = 0;
};

}  // namespace dkr::keystore
