// PostgresKeyStore against a real PostgreSQL 15 (see pg_fixture.hpp).
#include <doctest/doctest.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "keystore/key_transfer.hpp"
#include "lifecycle/key_lifecycle.hpp"
#include "pg_fixture.hpp"

namespace dkr::keystore::test {
TEST_CASE("db migrate is idempotent and records one schema version") {
  const std::string schema = fresh_schema();
  auto again = migrate_postgres_schema(test_dsn(), schema);
  REQUIRE(again);
  CHECK(*again == kPostgresSchemaVersion);
  Sql sql;
  CHECK(sql.run("SELECT count(*) FROM " + schema + ".schema_version") == std::to_string(kPostgresSchemaVersion));
}

TEST_CASE("a schema older or newer than this build is refused with what to do") {
  Sql sql;
  const std::string missing = "t" + std::to_string(::getpid()) + "_never_migrated";
  auto unmigrated = PostgresKeyStore::open(options_for(missing), test_kek(1));
  REQUIRE_FALSE(unmigrated);
  CHECK(unmigrated.error().message.find("dkim-relay db migrate") != std::string::npos);

  const std::string schema = fresh_schema();
  sql.run("INSERT INTO " + schema + ".schema_version (version) VALUES (" + std::to_string(kPostgresSchemaVersion + 1) +
          ")");
  auto newer = PostgresKeyStore::open(options_for(schema), test_kek(1));
  REQUIRE_FALSE(newer);
  CHECK(newer.error().message.find("newer than this dkim-relay knows") != std::string::npos);
  auto migrate_down = migrate_postgres_schema(test_dsn(), schema);
  CHECK_FALSE(migrate_down);
}

TEST_CASE("delegated domains: a key signs with its slot, keeps its unique name; the flag and slot survive a reload") {
  const std::string schema = fresh_schema();
  auto store = open_store(options_for(schema));
  KeyParams first = ed25519("dkr1-1790000000");
  first.slot = "dkr1";
  first.delegated = true;
  REQUIRE(store->stage_key("deleg.example", first));
  KeyParams second = ed25519("dkr2-1790000100");
  second.slot = "dkr2";
  REQUIRE(store->stage_key("deleg.example", second));
  REQUIRE(lifecycle::KeyLifecycle(*store).activate_forced("deleg.example", "dkr1-1790000000"));
  CHECK(active_selector(*store, "deleg.example") == "dkr1");  // s= is the slot
  auto other = open_store(options_for(schema));               // a second replica reads it from the database
  auto info = other->domain("deleg.example");
  REQUIRE(info);
  CHECK(info->delegated);
  REQUIRE(info->selectors.size() == 2);
  CHECK(info->selectors[0].selector == "dkr1-1790000000");
  CHECK(info->selectors[0].slot == "dkr1");
  CHECK(info->selectors[1].slot == "dkr2");
  CHECK(active_selector(*other, "deleg.example") == "dkr1");
  REQUIRE(lifecycle::KeyLifecycle(*other).activate_forced("deleg.example", "dkr2-1790000100"));
  CHECK(active_selector(*other, "deleg.example") == "dkr2");
  REQUIRE(store->add_domain("plain.example", ed25519("plain")));
  CHECK_FALSE(store->domain("plain.example")->delegated);
  CHECK(active_selector(*store, "plain.example") == "plain");
}

TEST_CASE("two replicas changing one domain at the same moment: one compare-and-set wins, the other is stale") {
  const std::string schema = fresh_schema();
  auto b = replica_with_race_domain(schema);

  // Replica A reads the domain inside its write, then B commits the same kind of change, then A
  // tries to write: the row version refuses it, nothing of A's is written, and A re-reads.
  auto options = options_for(schema);
  bool interleaved = false;
  Result<ChangeOutcome> b_result = ChangeOutcome::Stale;
  options.before_write_hook = [&](std::string_view) {
    if (interleaved) return;
    interleaved = true;
    b_result = b->change_states("race.example", {{"first", KeyState::Active, KeyState::Retiring},
                                                 {"from-b", KeyState::Staged, KeyState::Active}});
  };
  auto a = open_store(options);
  auto a_result = a->change_states("race.example", {{"first", KeyState::Active, KeyState::Retiring},
                                                    {"from-a", KeyState::Staged, KeyState::Active}});
  REQUIRE(interleaved);
  REQUIRE(b_result);
  CHECK(*b_result == ChangeOutcome::Applied);
  REQUIRE(a_result);
  CHECK(*a_result == ChangeOutcome::Stale);
  Sql sql;
  CHECK(active_rows(sql, schema, "race.example") == 1);
  CHECK(sql.run("SELECT selector FROM " + schema + ".keys WHERE domain = 'race.example' AND state = 'active'") ==
        "from-b");
  CHECK(sql.run("SELECT state FROM " + schema + ".keys WHERE domain = 'race.example' AND selector = 'from-a'") ==
        "staged");
  // The miss refreshed A's copy: it reads B's write without waiting for a notification.
  CHECK(active_selector(*a, "race.example") == "from-b");
  // The same change again, from the stale reading, is stale at once (no version race needed).
  CHECK(*a->change_states("race.example", {{"first", KeyState::Active, KeyState::Retiring},
                                           {"from-a", KeyState::Staged, KeyState::Active}}) == ChangeOutcome::Stale);
  CHECK(active_rows(sql, schema, "race.example") == 1);
}

TEST_CASE("change_states on PostgreSQL: one write, the store's clock, a stale from changes nothing") {
  const std::string schema = fresh_schema();
  auto options = options_for(schema);
  options.clock = [] { return std::int64_t{1'790'000'000}; };
  auto store = open_store(options);
  REQUIRE(store->add_domain("cas.example", ed25519("one")));
  KeyParams after_dns = ed25519("two");
  after_dns.activate_after_dns = true;
  REQUIRE(store->stage_key("cas.example", after_dns));
  REQUIRE(store->stage_key("cas.example", ed25519("three")));
  Sql sql;
  const std::string version = "SELECT version FROM " + schema + ".domains WHERE name = 'cas.example'";
  const std::string before = sql.run(version);
  auto stale = store->change_states(
      "cas.example", {{"two", KeyState::Staged, KeyState::Active}, {"one", KeyState::Retiring, KeyState::Revoked}});
  REQUIRE(stale);
  CHECK(*stale == ChangeOutcome::Stale);
  CHECK(sql.run(version) == before);
  CHECK(*store->change_states("missing.example", {{"one", KeyState::Active, KeyState::Retiring}}) ==
        ChangeOutcome::Stale);
  auto two_active = store->change_states("cas.example", {{"two", KeyState::Staged, KeyState::Active}});
  REQUIRE_FALSE(two_active);
  CHECK(two_active.error().code == ErrorCode::conflict);
  CHECK(sql.run(version) == before);

  auto done = store->change_states("cas.example", {{"one", KeyState::Active, KeyState::Retiring},
                                                   {"two", KeyState::Staged, KeyState::Active},
                                                   {"three", KeyState::Staged, std::nullopt}});
  REQUIRE(done);
  CHECK(*done == ChangeOutcome::Applied);
  CHECK(sql.run("SELECT state || ' ' || retired_at FROM " + schema + ".keys WHERE selector = 'one'") ==
        "retiring 1790000000");
  CHECK(sql.run("SELECT state || ' ' || activated_at FROM " + schema + ".keys WHERE selector = 'two'") ==
        "active 1790000000");
  CHECK(sql.run("SELECT activate_after_dns FROM " + schema + ".keys WHERE selector = 'two'") == "f");
  CHECK(sql.run("SELECT count(*) FROM " + schema + ".keys WHERE selector = 'three'") == "0");
  CHECK(active_selector(*store, "cas.example") == "two");
}

TEST_CASE("a wrong KEK is refused at start naming the first key; a tampered key alone is refused") {
  const std::string schema = fresh_schema();
  {
    auto store = open_store(options_for(schema), 1);
    REQUIRE(store->add_domain("a.example", ed25519("sa")));
    REQUIRE(store->add_domain("b.example", ed25519("sb")));
    REQUIRE(store->add_domain("c.example", ed25519("sc")));
  }
  auto wrong = PostgresKeyStore::open(options_for(schema), test_kek(2));
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().message.find("a.example selector sa") != std::string::npos);

  Sql sql;
  // One flipped byte in b's ciphertext; and c's sealed key copied onto another row (the associated
  // data binds it to its domain and selector).
  sql.run("UPDATE " + schema +
          ".keys SET sealed_key = set_byte(sealed_key, 30, get_byte(sealed_key, 30) # 1) WHERE domain = 'b.example'");
  auto store = open_store(options_for(schema), 1);
  CHECK(active_selector(*store, "a.example") == "sa");
  CHECK(store->signer_for("b.example") == nullptr);
  CHECK(active_selector(*store, "c.example") == "sc");
  const auto problems = store->problems();
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].domain == "b.example");

  // c's whole key (sealed key, record, algorithm, bits) copied onto a's row: only the associated data
  // (domain and selector) can tell, so the row must be refused when it is loaded, not at signing.
  sql.run("UPDATE " + schema +
          ".keys k SET sealed_key = c.sealed_key, dns_record = c.dns_record, algorithm = "
          "c.algorithm, bits = c.bits FROM " +
          schema + ".keys c WHERE c.domain = 'c.example' AND k.domain = 'a.example'");
  auto swapped = open_store(options_for(schema), 1);
  CHECK(swapped->signer_for("a.example") == nullptr);
  CHECK(active_selector(*swapped, "c.example") == "sc");
  const auto swapped_problems = swapped->problems();
  CHECK(std::any_of(swapped_problems.begin(), swapped_problems.end(),
                    [](const LoadProblem& p) { return p.domain == "a.example"; }));
}

// A database writer without the KEK puts its own public key in dns_record (issue 24 item 1).
std::string attacker_record(Sql& sql, const std::string& schema) {
  // Another real key's record: what an attacker holding that key's private half would publish.
  return sql.run("SELECT dns_record FROM " + schema + ".keys WHERE domain = 'attacker.example'");
}

TEST_CASE("a dns_record changed in the database is refused at load, never shown, never signs") {
  const std::string schema = fresh_schema();
  std::string genuine;
  {
    auto store = open_store(options_for(schema), 1);
    REQUIRE(store->add_domain("victim.example", ed25519("v1")));
    REQUIRE(store->add_domain("other.example", ed25519("o1")));
    REQUIRE(store->add_domain("attacker.example", ed25519("x1")));
    genuine = store->domain("victim.example")->selectors.front().dns_record;
  }
  Sql sql;
  const std::string forged = attacker_record(sql, schema);
  REQUIRE(forged != genuine);
  sql.run("UPDATE " + schema + ".keys SET dns_record = '" + forged + "' WHERE domain = 'victim.example'");

  auto store = open_store(options_for(schema), 1);
  const auto info = store->domain("victim.example");
  REQUIRE(info);
  REQUIRE(info->selectors.size() == 1);
  CHECK(info->selectors[0].dns_record.empty());
  CHECK(info->selectors[0].refused.find("refused") == 0);
  CHECK(store->signer_for("victim.example") == nullptr);
  CHECK(active_selector(*store, "other.example") == "o1");
  const auto problems = store->problems();
  REQUIRE(problems.size() == 1);  // at load: before anything tried to sign
  CHECK(problems[0].domain == "victim.example");
  // export refuses the row too, rather than carrying the forged record into a bundle
  CHECK_FALSE(store->export_keys());
  // and a rewrap does not launder it under a new KEK
  CHECK_FALSE(rewrap_postgres_keys(test_dsn(), schema, test_kek(1), test_kek(2)));
}

TEST_CASE("a dns_record changed under a running relay is refused when NOTIFY brings it") {
  const std::string schema = fresh_schema();
  auto writer = open_store(options_for(schema));
  REQUIRE(writer->add_domain("live.example", ed25519("l1")));
  REQUIRE(writer->add_domain("attacker.example", ed25519("x1")));
  auto relay = open_store(options_for(schema, /*watch=*/true));
  REQUIRE(eventually([&] { return relay->connected() && active_selector(*relay, "live.example") == "l1"; }));
  Sql sql;
  const std::string forged = attacker_record(sql, schema);
  sql.run("UPDATE " + schema + ".keys SET dns_record = '" + forged + "' WHERE domain = 'live.example'");
  sql.run("UPDATE " + schema + ".domains SET version = nextval('" + schema +
          ".domain_version') WHERE name = 'live.example'");
  sql.run("NOTIFY " + schema + "_changes, 'live.example'");
  REQUIRE(eventually([&] { return !relay->problems().empty(); }));
  CHECK(relay->problems()[0].domain == "live.example");
  const auto info = relay->domain("live.example");
  REQUIRE(info);
  CHECK(info->selectors[0].dns_record.empty());
  CHECK_FALSE(info->selectors[0].refused.empty());
  CHECK(relay->signer_for("live.example") == nullptr);
}

TEST_CASE("rows sealed before the record was bound still load, and a forged record among them is refused") {
  const std::string schema = fresh_schema();
  {
    auto store = open_store(options_for(schema), 1);
    REQUIRE(store->add_domain("old.example", ed25519("o1")));
    REQUIRE(store->add_domain("forged.example", ed25519("f1")));
    REQUIRE(store->add_domain("attacker.example", ed25519("x1")));
    // Re-seal both as a relay before this change did (version 1 associated data), from the exported keys.
    auto keys = store->export_keys();
    REQUIRE(keys);
    Sql sql;
    for (const KeyMaterial& key : *keys) {
      auto sealed = test_kek(1).seal_v1(key.pem, key.domain, key.info.selector);
      REQUIRE(sealed);
      std::string hex;
      for (unsigned char c : *sealed) {
        static const char* digits = "0123456789abcdef";
        hex += digits[c >> 4];
        hex += digits[c & 15];
      }
      sql.run("UPDATE " + schema + ".keys SET sealed_key = '\\x" + hex + "' WHERE domain = '" + key.domain + "'");
    }
    sql.run("UPDATE " + schema + ".keys SET dns_record = '" + attacker_record(sql, schema) +
            "' WHERE domain = 'forged.example'");
  }
  auto store = open_store(options_for(schema), 1);
  CHECK(active_selector(*store, "old.example") == "o1");
  CHECK_FALSE(store->domain("old.example")->selectors[0].dns_record.empty());
  CHECK(store->signer_for("forged.example") == nullptr);
  CHECK(store->domain("forged.example")->selectors[0].dns_record.empty());
  REQUIRE(store->problems().size() == 1);
  CHECK(store->problems()[0].domain == "forged.example");
}

TEST_CASE("a stale writer is refused by the row version, even where no unique index would notice") {
  // Replica A reads the domain; B revokes the retiring key; A then activates that key from its stale
  // read. Only the version check stops it: one key stays active throughout, so the index never fires.
  const std::string schema = fresh_schema();
  auto b = open_store(options_for(schema));
  REQUIRE(b->add_domain("stale.example", ed25519("old")));
  REQUIRE(b->stage_key("stale.example", ed25519("new")));
  REQUIRE(*b->change_states("stale.example", {{"old", KeyState::Active, KeyState::Retiring},
                                              {"new", KeyState::Staged, KeyState::Active}}) == ChangeOutcome::Applied);
  auto options = options_for(schema);
  bool interleaved = false;
  Result<ChangeOutcome> b_result = ChangeOutcome::Stale;
  options.before_write_hook = [&](std::string_view) {
    if (interleaved) return;
    interleaved = true;
    b_result = b->change_states("stale.example", {{"old", KeyState::Retiring, KeyState::Revoked}});
  };
  auto a = open_store(options);
  auto a_result = a->change_states(
      "stale.example", {{"new", KeyState::Active, KeyState::Retiring}, {"old", KeyState::Retiring, KeyState::Active}});
  REQUIRE(interleaved);
  REQUIRE(b_result);
  CHECK(*b_result == ChangeOutcome::Applied);
  REQUIRE(a_result);
  CHECK(*a_result == ChangeOutcome::Stale);
  Sql sql;
  CHECK(sql.run("SELECT state FROM " + schema + ".keys WHERE domain = 'stale.example' AND selector = 'old'") ==
        "revoked");
  CHECK(active_rows(sql, schema, "stale.example") == 1);
}

TEST_CASE("rewrap re-encrypts every key under the new KEK in one transaction") {
  const std::string schema = fresh_schema();
  {
    auto store = open_store(options_for(schema), 1);
    REQUIRE(store->add_domain("a.example", ed25519("sa")));
    REQUIRE(store->add_domain("b.example", ed25519("sb")));
  }
  // With the wrong old KEK nothing changes.
  auto refused = rewrap_postgres_keys(test_dsn(), schema, test_kek(3), test_kek(2));
  REQUIRE_FALSE(refused);
  CHECK(open_store(options_for(schema), 1)->signer_for("a.example") != nullptr);

  auto count = rewrap_postgres_keys(test_dsn(), schema, test_kek(1), test_kek(2));
  REQUIRE(count);
  CHECK(*count == 2);
  CHECK_FALSE(PostgresKeyStore::open(options_for(schema), test_kek(1)));
  auto store = open_store(options_for(schema), 2);
  CHECK(active_selector(*store, "a.example") == "sa");
  CHECK(active_selector(*store, "b.example") == "sb");
}

TEST_CASE("a change on one replica reaches another through NOTIFY, and a removal too") {
  const std::string schema = fresh_schema();
  auto a = open_store(options_for(schema, /*watch=*/true));
  auto b = open_store(options_for(schema, /*watch=*/true));
  REQUIRE(eventually([&] { return a->connected() && b->connected(); }));
  REQUIRE(a->add_domain("prop.example", ed25519("p0")));
  CHECK(eventually([&] { return active_selector(*b, "prop.example") == "p0"; }));
  for (int i = 1; i <= 5; ++i) {
    auto staged = a->stage_key("prop.example", ed25519("p" + std::to_string(i)));
    REQUIRE(staged);
    REQUIRE(lifecycle::KeyLifecycle(*a).activate_forced("prop.example", staged->selector));
    const std::string want = staged->selector;
    CHECK(eventually([&] { return active_selector(*b, "prop.example") == want; }));
  }
  REQUIRE(a->remove_domain("prop.example", true));
  CHECK(eventually([&] { return !b->domain("prop.example"); }));
  CHECK(b->staleness_seconds() == 0.0);
  CHECK(b->render_metrics().find("dkim_relay_keystore_connected 1") != std::string::npos);
}

TEST_CASE("the poll resync catches a change whose notification never came") {
  const std::string schema = fresh_schema();
  auto options = options_for(schema, /*watch=*/true);
  options.poll_interval = std::chrono::milliseconds(200);
  auto watcher = open_store(options);
  auto writer = open_store(options_for(schema));
  REQUIRE(writer->add_domain("quiet.example", ed25519("q0")));
  REQUIRE(eventually([&] { return active_selector(*watcher, "quiet.example") == "q0"; }));
  // A change made behind the relays' back, without NOTIFY: only the resync can find it.
  Sql sql;
  sql.run("UPDATE " + schema + ".keys SET state = 'retiring' WHERE domain = 'quiet.example'");
  sql.run("UPDATE " + schema + ".domains SET version = nextval('" + schema +
          ".domain_version') WHERE name = 'quiet.example'");
  CHECK(eventually([&] { return watcher->signer_for("quiet.example") == nullptr; }));
}

TEST_CASE("an unreachable database: open fails and writes answer unavailable") {
  PostgresKeyStoreOptions options;
  options.dsn = "host=127.0.0.1 port=1 user=postgres connect_timeout=2";
  auto store = PostgresKeyStore::open(options, test_kek(1));
  REQUIRE_FALSE(store);
  CHECK(store.error().code == ErrorCode::unavailable);
  CHECK(store.error().message.find("unreachable") != std::string::npos);
}

}  // namespace dkr::keystore::test

namespace dkr::keystore::test {

TEST_CASE("periodic jobs run on exactly one replica; another takes over when it goes") {
  const std::string schema = fresh_schema();
  auto options = options_for(schema, /*watch=*/true);
  options.poll_interval = std::chrono::milliseconds(200);  // how often a replica tries to take over
  auto a = open_store(options);
  auto b = open_store(options);
  REQUIRE(eventually([&] { return a->runs_periodic_jobs() || b->runs_periodic_jobs(); }));
  CHECK(a->runs_periodic_jobs() != b->runs_periodic_jobs());
  auto& holder = a->runs_periodic_jobs() ? a : b;
  auto& other = a->runs_periodic_jobs() ? b : a;
  holder.reset();  // its session ends, and the advisory lock with it
  CHECK(eventually([&] { return other->runs_periodic_jobs(); }));
}

}  // namespace dkr::keystore::test

namespace dkr::keystore::test {

TEST_CASE("a domain's rotation override and a staged key's DNS check round-trip through PostgreSQL to a replica") {
  const std::string schema = fresh_schema();
  auto a = open_store(options_for(schema, /*watch=*/true));
  auto b = open_store(options_for(schema, /*watch=*/true));
  REQUIRE(eventually([&] { return a->connected() && b->connected(); }));
  REQUIRE(a->add_domain("pol.example", ed25519("k0")));
  REQUIRE(eventually([&] { return active_selector(*b, "pol.example") == "k0"; }));
  CHECK(b->domain("pol.example")->rotation.empty());

  RotationOverride own;
  own.opt_out = true;
  own.interval = 30 * 86400;
  own.dns_timeout = 3600;
  REQUIRE(a->set_rotation_override("pol.example", own));
  CHECK(a->domain("pol.example")->rotation == own);
  CHECK(eventually([&] { return b->domain("pol.example")->rotation == own; }));
  CHECK(open_store(options_for(schema))->domain("pol.example")->rotation == own);
  Sql sql;
  CHECK(sql.run("SELECT rotation IS NOT NULL FROM " + schema + ".domains WHERE name = 'pol.example'") == "t");

  // A DNS check with what a hostile zone could serve (quotes, backslashes, control bytes, non-UTF-8).
  auto staged = a->stage_key("pol.example", ed25519("k1"));
  REQUIRE(staged);
  DnsCheck check{"error", "DNS serves a different DKIM key", {"v=DKIM1; p=\"x\\y\x01\xff"}, 1'790'000'000};
  auto recorded = a->record_dns_check("pol.example", "k1", check);
  REQUIRE(recorded);
  CHECK(*recorded);
  CHECK_FALSE(*a->record_dns_check("pol.example", "k1", check));  // unchanged: nothing written
  CHECK_FALSE(*a->record_dns_check("pol.example", "k0", check));  // active: no DNS wait to record
  CHECK(eventually([&] {
    const auto info = b->domain("pol.example");
    for (const auto& key : info->selectors) {
      if (key.selector == "k1") return key.dns_check.status == "error" && key.dns_check.checked_at == 1'790'000'000;
    }
    return false;
  }));
  const auto seen = b->domain("pol.example");
  REQUIRE(seen);
  for (const auto& key : seen->selectors) {
    if (key.selector != "k1") continue;
    CHECK(key.dns_check.reason == check.reason);
    REQUIRE(key.dns_check.found.size() == 1);
    CHECK(key.dns_check.found[0].find("v=DKIM1; p=\"x\\y") == 0);
  }
  // Activation ends the wait: the check goes with it.
  REQUIRE(lifecycle::KeyLifecycle(*a).activate_forced("pol.example", "k1"));
  CHECK(sql.run("SELECT dns_check IS NULL FROM " + schema + ".keys WHERE selector = 'k1'") == "t");

  REQUIRE(a->set_rotation_override("pol.example", {}));
  CHECK(eventually([&] { return b->domain("pol.example")->rotation.empty(); }));
  CHECK(sql.run("SELECT rotation IS NULL FROM " + schema + ".domains WHERE name = 'pol.example'") == "t");
  CHECK_FALSE(a->set_rotation_override("missing.example", own));
}

TEST_CASE("a delegated domain's publishing error round-trips through PostgreSQL to a replica, and is cleared") {
  const std::string schema = fresh_schema();
  auto a = open_store(options_for(schema, /*watch=*/true));
  auto b = open_store(options_for(schema, /*watch=*/true));
  REQUIRE(eventually([&] { return a->connected() && b->connected(); }));
  REQUIRE(a->add_domain("pub.example", ed25519("k0")));
  REQUIRE(eventually([&] { return active_selector(*b, "pub.example") == "k0"; }));
  CHECK(b->domain("pub.example")->publish_error.empty());
  Sql sql;
  CHECK(sql.run("SELECT publish_error IS NULL FROM " + schema + ".domains WHERE name = 'pub.example'") == "t");

  const PublishError error{
      "dkr1.pub.example.dkim.esp.example: no answer from 127.0.0.1:53 (rcode transport) \"\x01\xff", "transport",
      1'790'000'000, 1'790'000'002};
  auto recorded = a->record_publish_error("pub.example", error);
  REQUIRE(recorded);
  CHECK(*recorded);
  CHECK_FALSE(*a->record_publish_error("pub.example", error));  // unchanged: nothing written
  CHECK(eventually([&] { return b->domain("pub.example")->publish_error.rcode == "transport"; }));
  const PublishError seen = b->domain("pub.example")->publish_error;
  CHECK(seen.at == error.at);
  CHECK(seen.retry_at == error.retry_at);
  CHECK(seen.error.find("no answer from 127.0.0.1:53") != std::string::npos);
  CHECK(seen.error.find("dkr1.pub.example.dkim.esp.example: ") == 0);
  CHECK(open_store(options_for(schema))->domain("pub.example")->publish_error.rcode == "transport");
  CHECK(sql.run("SELECT publish_error::jsonb->>'rcode' FROM " + schema + ".domains WHERE name = 'pub.example'") ==
        "transport");

  REQUIRE(a->record_publish_error("pub.example", PublishError{}));
  CHECK(eventually([&] { return b->domain("pub.example")->publish_error.empty(); }));
  CHECK(sql.run("SELECT publish_error IS NULL FROM " + schema + ".domains WHERE name = 'pub.example'") == "t");
  auto missing = a->record_publish_error("missing.example", error);
  REQUIRE(missing);
  CHECK_FALSE(*missing);
}

}  // namespace dkr::keystore::test
