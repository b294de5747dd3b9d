#pragma once
// The PostgreSQL these tests run against: started by pg_harness.py (the ctest wrapper), which passes
// its DSN in DKR_TEST_PG_DSN. Without it the tests fail: they never skip.
#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "keystore/postgres_key_store.hpp"

namespace dkr::keystore::test {

inline std::string test_dsn() {
  const char* dsn = std::getenv("DKR_TEST_PG_DSN");
  if (dsn == nullptr || *dsn == '\0') {
    throw std::runtime_error("DKR_TEST_PG_DSN is not set: run through tests/pgstore/pg_harness.py");
  }
  return dsn;
}

// A raw libpq session for the test's own checks and sabotage, independent of the store's code.
class Sql {
 public:
  Sql() : conn_(PQconnectdb(test_dsn().c_str())) {
    if (PQstatus(conn_) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(conn_));
  }
  ~Sql() { PQfinish(conn_); }
  Sql(const Sql&) = delete;
  Sql& operator=(const Sql&) = delete;

  // Runs a statement; returns the first column of the first row ("" when none).
  std::string run(const std::string& sql) {
    PGresult* result = PQexec(conn_, sql.c_str());
    const auto status = PQresultStatus(result);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      const std::string message = PQresultErrorMessage(result);
      PQclear(result);
      throw std::runtime_error(sql + ": " + message);
    }
    std::string value = PQntuples(result) > 0 ? PQgetvalue(result, 0, 0) : "";
    PQclear(result);
    return value;
  }

 private:
  PGconn* conn_;
};

// A fresh schema per test case, migrated, so test cases do not see each other's domains.
inline std::string fresh_schema() {
  static std::atomic<int> counter{0};
  const std::string schema = "t" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
  auto migrated = migrate_postgres_schema(test_dsn(), schema);
  if (!migrated) throw std::runtime_error(migrated.error().message);
  return schema;
}

inline Kek test_kek(unsigned char seed) {
  std::array<unsigned char, Kek::kSize> bytes{};
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<unsigned char>(seed + i * 7);
  return Kek::from_bytes(bytes);
}

inline PostgresKeyStoreOptions options_for(const std::string& schema, bool watch = false) {
  PostgresKeyStoreOptions options;
  options.dsn = test_dsn();
  options.schema = schema;
  options.watch = watch;
  options.poll_interval = std::chrono::milliseconds(60000);  // propagation tests rely on NOTIFY alone
  return options;
}

inline std::unique_ptr<PostgresKeyStore> open_store(const PostgresKeyStoreOptions& options, unsigned char kek = 1) {
  auto store = PostgresKeyStore::open(options, test_kek(kek));
  if (!store) throw std::runtime_error(store.error().message);
  return std::move(*store);
}

// Polls `condition` until it holds or `timeout` passes; the result says which.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return condition();
}

inline KeyParams ed25519(std::optional<std::string> selector = std::nullopt) {
  KeyParams params;
  params.algorithm = signer::Algorithm::Ed25519Sha256;
  params.selector = std::move(selector);
  return params;
}

// The start of the tests where two replicas change one domain at the same moment: a replica of
// `schema` holding race.example with "first" active and "from-a" and "from-b" staged.
inline std::unique_ptr<PostgresKeyStore> replica_with_race_domain(const std::string& schema) {
  auto store = open_store(options_for(schema));
  if (!store->add_domain("race.example", ed25519("first")) || !store->stage_key("race.example", ed25519("from-a")) ||
      !store->stage_key("race.example", ed25519("from-b")))
    throw std::runtime_error("cannot set up race.example in " + schema);
  return store;
}

// The selector that signs for the domain (or a parent), "" when none does.
inline std::string active_selector(const KeyStore& store, std::string_view domain) {
  const auto set = store.signer_for(domain);
  return set && !set->keys.empty() ? set->keys.front().selector : "";
}

// Rows of the domain in state active, read from the database itself.
inline int active_rows(Sql& sql, const std::string& schema, const std::string& domain) {
  return std::stoi(
      sql.run("SELECT count(*) FROM " + schema + ".keys WHERE domain = '" + domain + "' AND state = 'active'"));
}

}  // namespace dkr::keystore::test
