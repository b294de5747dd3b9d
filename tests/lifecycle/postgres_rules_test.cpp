// The key lifecycle's rules over the real PostgreSQL store (started by tests/pgstore/pg_harness.py):
// the cases that lived in tests/pgstore/postgres_key_store_test.cpp when the store enforced the rules.
// The store's own compare-and-set cases stay there.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "lifecycle/key_lifecycle.hpp"
#include "lifecycle/key_state_machine.hpp"
#include "pg_fixture.hpp"

namespace dkr::keystore::test {
namespace {

using lifecycle::apply_transition;
using lifecycle::KeyAction;
using lifecycle::KeyLifecycle;

}  // namespace

TEST_CASE(
    "lifecycle over PostgreSQL: add, stage, activate, retire, revoke, remove; parent fallback; no clear-text keys") {
  const std::string schema = fresh_schema();
  auto store = open_store(options_for(schema));
  auto added = store->add_domain("Example.ORG", ed25519("one"));
  REQUIRE(added);
  CHECK(added->state == KeyState::Active);
  CHECK(active_selector(*store, "example.org") == "one");
  CHECK(active_selector(*store, "mail.sub.example.org") == "one");  // parent-domain fallback
  CHECK(store->signer_for("example.com") == nullptr);

  auto duplicate = store->add_domain("example.org", ed25519());
  REQUIRE_FALSE(duplicate);
  CHECK(duplicate.error().code == ErrorCode::conflict);

  auto staged = store->stage_key("example.org", ed25519("two"));
  REQUIRE(staged);
  CHECK(staged->state == KeyState::Staged);
  CHECK(active_selector(*store, "example.org") == "one");
  REQUIRE(KeyLifecycle(*store).activate_forced("example.org", "two"));
  CHECK(active_selector(*store, "example.org") == "two");
  auto info = store->domain("example.org");
  REQUIRE(info);
  REQUIRE(info->selectors.size() == 2);
  CHECK(info->selectors[0].state == KeyState::Retiring);
  CHECK(info->selectors[1].state == KeyState::Active);

  CHECK(KeyLifecycle(*store).revoke("example.org", "one"));
  CHECK(KeyLifecycle(*store).activate_forced("example.org", "one").error().code ==
        ErrorCode::conflict);  // revoked stays revoked
  CHECK(KeyLifecycle(*store).remove_key("example.org", "two").error().code == ErrorCode::conflict);  // active
  CHECK(KeyLifecycle(*store).remove_key("example.org", "one"));
  CHECK(KeyLifecycle(*store).activate_forced("example.org", "nope").error().code == ErrorCode::not_found);
  CHECK(store->remove_domain("example.org", false).error().code == ErrorCode::conflict);
  CHECK(KeyLifecycle(*store).retire("example.org", "two"));
  CHECK(store->signer_for("example.org") == nullptr);
  CHECK(store->remove_domain("example.org", false));
  CHECK(store->domain("example.org").error().code == ErrorCode::not_found);
  CHECK(store->remove_domain("example.org", true).error().code == ErrorCode::not_found);

  // The database holds sealed keys only: no PEM armour, and not the key's own base64 either.
  REQUIRE(store->add_domain("example.net", KeyParams{}));
  Sql sql;
  CHECK(sql.run("SELECT count(*) FROM " + schema +
                ".keys WHERE position('PRIVATE KEY' in encode(sealed_key, 'escape')) > 0") == "0");
  CHECK(sql.run("SELECT count(*) FROM " + schema + ".keys WHERE length(sealed_key) > 1000") == "1");

  // Another replica opening the same schema sees the same state.
  auto other = open_store(options_for(schema));
  CHECK(other->list().size() == 1);
  CHECK(active_selector(*other, "example.net") == active_selector(*store, "example.net"));
  CHECK(other->signer_for("example.net")->keys.front().key->private_pem() ==
        store->signer_for("example.net")->keys.front().key->private_pem());
}

TEST_CASE("two replicas activating in one domain at the same moment: the loser re-reads and re-plans, one key active") {
  const std::string schema = fresh_schema();
  auto b = replica_with_race_domain(schema);

  // Replica A reads the domain, then B commits its activation, then A tries to write: its
  // compare-and-set misses under the row version, and it plans again from what B wrote.
  auto options = options_for(schema);
  int writes = 0;
  Result<void> b_result;
  options.before_write_hook = [&](std::string_view) {
    if (++writes == 1) b_result = KeyLifecycle(*b).activate_forced("race.example", "from-b");
  };
  auto a = open_store(options);
  auto a_result = KeyLifecycle(*a).activate_forced("race.example", "from-a");
  CHECK(writes == 2);  // a miss, then the write planned from B's state
  CHECK(b_result);
  CHECK(a_result);
  Sql sql;
  CHECK(active_rows(sql, schema, "race.example") == 1);
  CHECK(sql.run("SELECT selector FROM " + schema + ".keys WHERE domain = 'race.example' AND state = 'active'") ==
        "from-a");
  // B's key, replaced by A's after the re-read, is retiring (not lost, not active).
  CHECK(sql.run("SELECT state FROM " + schema + ".keys WHERE domain = 'race.example' AND selector = 'from-b'") ==
        "retiring");
}

TEST_CASE("a stale activation re-plans and is refused when the key it read as retiring was revoked meanwhile") {
  const std::string schema = fresh_schema();
  auto b = open_store(options_for(schema));
  REQUIRE(b->add_domain("stale.example", ed25519("old")));
  REQUIRE(b->stage_key("stale.example", ed25519("new")));
  REQUIRE(KeyLifecycle(*b).activate_forced("stale.example", "new"));  // "old" is retiring now
  auto options = options_for(schema);
  bool interleaved = false;
  Result<void> b_result;
  options.before_write_hook = [&](std::string_view) {
    if (interleaved) return;
    interleaved = true;
    b_result = KeyLifecycle(*b).revoke("stale.example", "old");
  };
  auto a = open_store(options);
  auto a_result = KeyLifecycle(*a).activate_forced("stale.example", "old");
  REQUIRE(interleaved);
  REQUIRE(b_result);
  REQUIRE_FALSE(a_result);
  CHECK(a_result.error().code == ErrorCode::conflict);
  CHECK(a_result.error().message.find("revoked") != std::string::npos);
  Sql sql;
  CHECK(sql.run("SELECT state FROM " + schema + ".keys WHERE domain = 'stale.example' AND selector = 'old'") ==
        "revoked");
  CHECK(active_rows(sql, schema, "stale.example") == 1);
}

TEST_CASE(
    "the scheduler's guarded steps over PostgreSQL: a stale replica's stage, activation or revocation changes "
    "nothing") {
  const std::string schema = fresh_schema();
  auto a = open_store(options_for(schema));
  auto b = open_store(options_for(schema));
  REQUIRE(a->add_domain("guard.example", ed25519("first")));
  KeyParams scheduled = ed25519();
  scheduled.unless_staged = true;
  scheduled.activate_after_dns = true;
  auto staged = a->stage_key("guard.example", scheduled);
  REQUIRE(staged);
  auto again = b->stage_key("guard.example", scheduled);  // B decided from a reading without A's key
  REQUIRE_FALSE(again);
  CHECK(again.error().code == ErrorCode::conflict);
  // B's reading: the domain before A's activation below (the scheduler steps keys it has read).
  REQUIRE(b->reload());

  auto activated = apply_transition(*a, "guard.example", staged->selector, KeyAction::Activate, KeyState::Staged);
  REQUIRE(activated);
  CHECK(*activated);
  auto twice = apply_transition(*b, "guard.example", staged->selector, KeyAction::Activate, KeyState::Staged);
  REQUIRE(twice);
  CHECK_FALSE(*twice);
  auto revoked = apply_transition(*b, "guard.example", "first", KeyAction::Revoke, KeyState::Retiring);
  REQUIRE(revoked);
  CHECK(*revoked);
  CHECK_FALSE(*apply_transition(*a, "guard.example", "first", KeyAction::Revoke, KeyState::Retiring));
  // Not retiring any more: a stale "revoke" of the active key is refused by the guard, not applied.
  CHECK_FALSE(*apply_transition(*a, "guard.example", staged->selector, KeyAction::Revoke, KeyState::Retiring));
  CHECK(*apply_transition(*a, "guard.example", "first", KeyAction::Remove, KeyState::Revoked));
  CHECK_FALSE(*apply_transition(*b, "guard.example", "first", KeyAction::Remove, KeyState::Revoked));
  Sql sql;
  CHECK(sql.run("SELECT count(*) FROM " + schema + ".keys WHERE domain = 'guard.example'") == "1");
  CHECK(active_rows(sql, schema, "guard.example") == 1);
}

TEST_CASE("two replicas rotating one domain concurrently through the lifecycle never leave two active keys") {
  const std::string schema = fresh_schema();
  auto a = open_store(options_for(schema));
  auto b = open_store(options_for(schema));
  REQUIRE(a->add_domain("busy.example", ed25519("s0")));
  std::atomic<int> conflicts{0};
  std::atomic<int> other_errors{0};
  std::atomic<int> activated{0};
  auto rotate = [&](PostgresKeyStore& store, const std::string& prefix) {
    for (int i = 0; i < 15; ++i) {
      auto staged = store.stage_key("busy.example", ed25519(prefix + std::to_string(i)));
      Result<void> done =
          staged ? KeyLifecycle(store).activate_forced("busy.example", staged->selector) : Result<void>(staged.error());
      if (done) {
        ++activated;
      } else if (done.error().code == ErrorCode::conflict) {
        ++conflicts;
      } else {
        ++other_errors;
        MESSAGE(done.error().message);
      }
    }
  };
  std::thread first([&] { rotate(*a, "a"); });
  std::thread second([&] { rotate(*b, "b"); });
  first.join();
  second.join();
  CHECK(other_errors == 0);
  CHECK(activated + conflicts == 30);
  CHECK(activated > 0);
  Sql sql;
  CHECK(active_rows(sql, schema, "busy.example") == 1);
  MESSAGE("concurrent rotations: " << activated.load() << " activated, " << conflicts.load() << " conflicts (409)");
}

}  // namespace dkr::keystore::test
