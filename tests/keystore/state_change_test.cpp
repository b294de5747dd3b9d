// KeyStore::change_states on the directory store: the compare-and-set that is all a store does for
// the lifecycle (its rules are lifecycle/'s, tested in tests/lifecycle).
#include <doctest/doctest.h>

#include <atomic>

#include "test_support.hpp"

using namespace dkr::keystore;
using namespace dkr::keystore::test;

namespace {

const SelectorInfo* find(const DomainInfo& info, const std::string& selector) {
  for (const auto& s : info.selectors) {
    if (s.selector == selector) return &s;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("change_states applies every change in one write, stamped by the store's clock") {
  TempDir dir;
  auto options = options_for(dir.path());
  std::int64_t now = 1'790'000'000;
  options.clock = [&now] { return now; };
  auto store = open_store(options);
  REQUIRE(store->add_domain("cas.example", ed25519("one")));
  KeyParams after_dns = ed25519("two");
  after_dns.activate_after_dns = true;
  REQUIRE(store->stage_key("cas.example", after_dns));
  REQUIRE(store->stage_key("cas.example", ed25519("old")));
  now += 60;
  auto done = store->change_states("cas.example", {{"one", KeyState::Active, KeyState::Retiring},
                                                   {"two", KeyState::Staged, KeyState::Active},
                                                   {"old", KeyState::Staged, std::nullopt}});
  REQUIRE(done);
  CHECK(*done == ChangeOutcome::Applied);
  auto info = store->domain("cas.example");
  REQUIRE(info);
  CHECK(find(*info, "one")->state == KeyState::Retiring);
  CHECK(find(*info, "one")->retired_at == 1'790'000'060);
  CHECK(find(*info, "two")->state == KeyState::Active);
  CHECK(find(*info, "two")->activated_at == 1'790'000'060);
  CHECK_FALSE(find(*info, "two")->activate_after_dns);
  CHECK(find(*info, "old") == nullptr);
  CHECK_FALSE(std::filesystem::exists(dir / "cas.example" / "old.pem"));
  REQUIRE(store->signer_for("cas.example"));
  CHECK(store->signer_for("cas.example")->keys.at(0).selector == "two");

  // Revoked: stamped, and the published record is the empty p=.
  REQUIRE(*store->change_states("cas.example", {{"one", KeyState::Retiring, KeyState::Revoked}}) ==
          ChangeOutcome::Applied);
  info = store->domain("cas.example");
  CHECK(find(*info, "one")->revoked_at == 1'790'000'060);
  CHECK(find(*info, "one")->dns_record == "v=DKIM1; p=");
  // Nothing to change: applied, nothing written.
  const std::string before = read_text(dir / "cas.example" / "keys.json");
  CHECK(*store->change_states("cas.example", {}) == ChangeOutcome::Applied);
  CHECK(read_text(dir / "cas.example" / "keys.json") == before);
}

TEST_CASE("a stale from changes nothing, not even the other changes of the same write") {
  TempDir dir;
  auto store = open_store(dir.path());
  REQUIRE(store->add_domain("stale.example", ed25519("act")));
  REQUIRE(store->stage_key("stale.example", ed25519("stg")));
  const std::string before = read_text(dir / "stale.example" / "keys.json");
  // "act" is active, not retiring: the whole write is refused as stale.
  auto stale = store->change_states(
      "stale.example", {{"stg", KeyState::Staged, KeyState::Active}, {"act", KeyState::Retiring, KeyState::Revoked}});
  REQUIRE(stale);
  CHECK(*stale == ChangeOutcome::Stale);
  CHECK(read_text(dir / "stale.example" / "keys.json") == before);
  CHECK(*store->change_states("stale.example", {{"gone", KeyState::Staged, KeyState::Active}}) == ChangeOutcome::Stale);
  CHECK(*store->change_states("nowhere.example", {{"act", KeyState::Active, KeyState::Retiring}}) ==
        ChangeOutcome::Stale);
  // The store holds at most one active key per algorithm, whoever asks.
  auto two_active = store->change_states("stale.example", {{"stg", KeyState::Staged, KeyState::Active}});
  REQUIRE_FALSE(two_active);
  CHECK(two_active.error().code == dkr::ErrorCode::conflict);
  CHECK(read_text(dir / "stale.example" / "keys.json") == before);
}

TEST_CASE("two stores on one directory race the same change: exactly one succeeds, the other re-reads") {
  TempDir dir;
  auto first = open_store(dir.path());
  auto second = open_store(dir.path());
  REQUIRE(first->add_domain("race.example", ed25519("old")));
  REQUIRE(first->stage_key("race.example", ed25519("new")));
  REQUIRE(second->reload());
  const std::vector<StateChange> activate = {{"old", KeyState::Active, KeyState::Retiring},
                                             {"new", KeyState::Staged, KeyState::Active}};
  auto a = first->change_states("race.example", activate);
  auto b = second->change_states("race.example", activate);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(*a == ChangeOutcome::Applied);
  CHECK(*b == ChangeOutcome::Stale);
  // The miss refreshed the loser's copy: it reads what the winner wrote, without a reload.
  auto seen = second->domain("race.example");
  REQUIRE(seen);
  CHECK(find(*seen, "new")->state == KeyState::Active);
  CHECK(find(*seen, "old")->state == KeyState::Retiring);

  // From threads at once: one winner among many.
  REQUIRE(first->stage_key("race.example", ed25519("next")));
  REQUIRE(second->reload());
  const std::vector<StateChange> next = {{"new", KeyState::Active, KeyState::Retiring},
                                         {"next", KeyState::Staged, KeyState::Active}};
  std::atomic<int> applied{0}, stale{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    DirectoryKeyStore* store = i % 2 == 0 ? first.get() : second.get();
    threads.emplace_back([&, store] {
      auto done = store->change_states("race.example", next);
      if (done && *done == ChangeOutcome::Applied) ++applied;
      if (done && *done == ChangeOutcome::Stale) ++stale;
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(applied == 1);
  CHECK(stale == 7);
}
