// The PostgreSQL keystore's schema, as versioned migrations kept in the source: a relay knows
// exactly the versions listed here and refuses to run on any other.
#include <spdlog/spdlog.h>

#include "keystore/postgres_key_store.hpp"
#include "pg_connection.hpp"
#include "postgres_schema.hpp"

namespace dkr::keystore {
namespace {

// Each entry migrates from version i to i + 1. {s} is the quoted schema name.
const std::vector<std::string_view> kMigrations = {
    R"SQL(
CREATE SEQUENCE {s}.domain_version;
CREATE TABLE {s}.domains (
  name text PRIMARY KEY,
  -- optimistic concurrency: every write takes a new value from one sequence, so a version never
  -- repeats, not even for a domain removed and added again
  version bigint NOT NULL DEFAULT nextval('{s}.domain_version'),
  changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE {s}.keys (
  id bigserial PRIMARY KEY,               -- a key's identity across renames of nothing: never reused
  domain text NOT NULL REFERENCES {s}.domains(name) ON DELETE CASCADE,
  selector text NOT NULL,
  algorithm text NOT NULL CHECK (algorithm IN ('rsa-sha256', 'ed25519-sha256')),
  bits integer NOT NULL,
  state text NOT NULL CHECK (state IN ('staged', 'active', 'retiring', 'revoked')),
  created_at bigint NOT NULL DEFAULT 0,
  activated_at bigint NOT NULL DEFAULT 0,
  retired_at bigint NOT NULL DEFAULT 0,
  revoked_at bigint NOT NULL DEFAULT 0,
  activate_after_dns boolean NOT NULL DEFAULT false,
  dns_record text NOT NULL,
  sealed_key bytea NOT NULL,              -- AES-256-GCM: nonce || ciphertext || tag; never clear text
  UNIQUE (domain, selector)
);
-- The database itself refuses two active keys of one algorithm in a domain.
CREATE UNIQUE INDEX keys_one_active ON {s}.keys (domain, algorithm) WHERE state = 'active';
)SQL",
    // Delegated selectors (issue 22): a domain whose owner's CNAMEs point at our delegation zone, and
    // the DNS selector slot each key is published under ('' = the key's own selector name).
    R"SQL(
ALTER TABLE {s}.domains ADD COLUMN delegated boolean NOT NULL DEFAULT false;
ALTER TABLE {s}.keys ADD COLUMN slot text NOT NULL DEFAULT '';
)SQL",
    // Per-domain rotation policy and the scheduler's DNS findings, shared by every replica (issue 21).
    R"SQL(
-- The domain's rotation override as JSON ({"opt_out": bool, "interval": seconds, ...}); NULL = the
-- global [rotation] policy.
ALTER TABLE {s}.domains ADD COLUMN rotation text;
-- What the leader's last DNS check found for a staged key waiting for DNS, as JSON
-- ({"status", "reason", "found", "checked_at"}); NULL = not checked.
ALTER TABLE {s}.keys ADD COLUMN dns_check text;
)SQL",
    // A delegated domain's last publishing failure, written by the leader, shown by every replica (issue 22).
    R"SQL(
-- As JSON ({"error", "rcode", "at", "retry_at"}); NULL = publishing works (or never failed).
ALTER TABLE {s}.domains ADD COLUMN publish_error text;
)SQL",
};

std::string expand(std::string_view sql, const std::string& schema) {
  std::string out;
  const std::string quoted = quote_identifier(schema);
  std::size_t pos = 0;
  while (true) {
    const std::size_t at = sql.find("{s}", pos);
    out += sql.substr(pos, at == std::string_view::npos ? std::string_view::npos : at - pos);
    if (at == std::string_view::npos) break;
    out += quoted;
    pos = at + 3;
  }
  return out;
}

}  // namespace

Result<int> schema_version(PgConnection& conn, const std::string& schema) {
  auto found =
      conn.exec("SELECT to_regclass($1) IS NOT NULL", {PgParam::text(quote_identifier(schema) + ".schema_version")});
  if (!found) return found.error();
  if (found->text(0, 0) != "t") return 0;
  auto version = conn.exec("SELECT coalesce(max(version), 0) FROM " + quote_identifier(schema) + ".schema_version");
  if (!version) return version.error();
  return static_cast<int>(version->integer(0, 0));
}

Result<void> check_schema_version(PgConnection& conn, const std::string& schema) {
  auto version = schema_version(conn, schema);
  if (!version) return version.error();
  if (*version == kPostgresSchemaVersion) return {};
  if (*version < kPostgresSchemaVersion) {
    return make_error(ErrorCode::invalid, "keystore schema \"" + schema + "\" is at version " +
                                              std::to_string(*version) + ", older than this dkim-relay's " +
                                              std::to_string(kPostgresSchemaVersion) +
                                              ": run `dkim-relay db migrate --config FILE` first");
  }
  return make_error(ErrorCode::invalid, "keystore schema \"" + schema + "\" is at version " + std::to_string(*version) +
                                            ", newer than this dkim-relay knows (" +
                                            std::to_string(kPostgresSchemaVersion) + "): upgrade dkim-relay");
}

Result<int> migrate_postgres_schema(const std::string& dsn, const std::string& schema) {
  auto connected = PgConnection::connect(dsn);
  if (!connected) return connected.error();
  PgConnection& conn = **connected;
  const std::string s = quote_identifier(schema);
  auto run = [&](const std::string& sql) -> Result<void> {
    auto done = conn.exec(sql);
    if (!done) return done.error();
    return {};
  };
  if (auto begun = run("BEGIN"); !begun) return begun.error();
  auto fail = [&](const Error& error) -> Result<int> {
    (void)conn.exec("ROLLBACK");
    return error;
  };
  // Two concurrent `db migrate` runs: the second waits here, then finds nothing left to do.
  if (auto locked = run("SELECT pg_advisory_xact_lock(hashtext('dkim-relay migrate ' || " +
                        std::string("current_database()") + "))");
      !locked)
    return fail(locked.error());
  if (auto made = run("CREATE SCHEMA IF NOT EXISTS " + s); !made) return fail(made.error());
  if (auto made = run("CREATE TABLE IF NOT EXISTS " + s +
                      ".schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())");
      !made)
    return fail(made.error());
  auto version = schema_version(conn, schema);
  if (!version) return fail(version.error());
  if (*version > kPostgresSchemaVersion) {
    return fail(make_error(ErrorCode::invalid, "keystore schema \"" + schema + "\" is at version " +
                                                   std::to_string(*version) + ", newer than this dkim-relay knows (" +
                                                   std::to_string(kPostgresSchemaVersion) + ")"));
  }
  for (int next = *version; next < kPostgresSchemaVersion; ++next) {
    if (auto applied = conn.exec_script(expand(kMigrations[static_cast<std::size_t>(next)], schema)); !applied) {
      return fail(applied.error());
    }
    if (auto recorded = conn.exec("INSERT INTO " + s + ".schema_version (version) VALUES ($1)",
                                  {PgParam::text(std::to_string(next + 1))});
        !recorded)
      return fail(recorded.error());
    spdlog::info("keystore: schema {} migrated to version {}", schema, next + 1);
  }
  if (auto committed = run("COMMIT"); !committed) return committed.error();
  return kPostgresSchemaVersion;
}

}  // namespace dkr::keystore
