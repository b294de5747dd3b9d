// keystore::open choosing the PostgreSQL adapter, and its Storage capabilities (see pg_fixture.hpp;
// the directory adapter's are in tests/keystore/storage_test.cpp).
#include <doctest/doctest.h>

#include "keystore/storage.hpp"
#include "pg_fixture.hpp"

namespace dkr::keystore::test {
namespace {

std::unique_ptr<Storage> open_postgres(const std::string& schema, unsigned char kek = 1) {
  StorageOptions options;
  options.backend = StorageOptions::Backend::Postgres;
  options.postgres = options_for(schema, /*watch=*/true);
  options.postgres.poll_interval = std::chrono::milliseconds(200);  // how often a replica tries to lead
  options.kek = test_kek(kek);
  auto storage = keystore::open(std::move(options));
  if (!storage) throw std::runtime_error(storage.error().message);
  return std::move(*storage);
}

}  // namespace

TEST_CASE("keystore::open: the PostgreSQL backend is a fleet; its leader is the fleet lock's holder") {
  const std::string schema = fresh_schema();
  auto a = open_postgres(schema);
  auto b = open_postgres(schema);
  REQUIRE(a->fleet() != nullptr);
  REQUIRE(b->fleet() != nullptr);
  CHECK(a->description() == "postgres, schema " + schema);
  CHECK(dynamic_cast<PostgresKeyStore*>(a->keys().get()) != nullptr);
  CHECK(a->fleet()->ready());
  CHECK(a->problems().empty());
  CHECK(a->fleet()->render_metrics().find("dkim_relay_keystore_connected") != std::string::npos);
  // A fleet store follows other replicas' changes by itself: no watcher.
  auto watcher = a->follow_outside_changes();
  REQUIRE(watcher);
  CHECK(*watcher == nullptr);

  // Exactly one replica leads, and leading is the fleet's advisory lock.
  REQUIRE(eventually([&] { return a->leads_periodic_jobs() || b->leads_periodic_jobs(); }));
  CHECK(a->leads_periodic_jobs() != b->leads_periodic_jobs());
  CHECK(a->leads_periodic_jobs() == a->fleet()->runs_periodic_jobs());
  auto& holder = a->leads_periodic_jobs() ? a : b;
  auto& other = a->leads_periodic_jobs() ? b : a;
  holder.reset();  // its session ends, and the advisory lock with it
  CHECK(eventually([&] { return other->leads_periodic_jobs(); }));
}

TEST_CASE("keystore::open: the PostgreSQL backend's transfer exports and imports through the fleet's store") {
  const std::string schema = fresh_schema();
  auto storage = open_postgres(schema);
  REQUIRE(storage->keys()->add_domain("open.example", ed25519("k1")));
  auto exported = storage->transfer().export_keys();
  REQUIRE(exported);
  REQUIRE(exported->size() == 1);
  CHECK(exported->front().info.selector == "k1");

  KeyMaterial moved = exported->front();
  REQUIRE(storage->transfer().import_key("moved.example", moved.info, moved.pem));
  auto other = open_postgres(schema);  // another replica reads it from the database
  const auto set = other->keys()->signer_for("moved.example");
  REQUIRE(set != nullptr);
  CHECK(set->keys.front().selector == "k1");
}

TEST_CASE("keystore::open: an unreachable database is an error naming the backend") {
  StorageOptions options;
  options.backend = StorageOptions::Backend::Postgres;
  options.postgres.dsn = "host=127.0.0.1 port=1 connect_timeout=2";
  options.postgres.watch = false;
  options.kek = test_kek(1);
  auto storage = keystore::open(std::move(options));
  REQUIRE_FALSE(storage);
  CHECK(storage.error().message.rfind("keystore (postgres): ", 0) == 0);
}

}  // namespace dkr::keystore::test
