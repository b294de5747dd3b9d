#pragma once
// A thin RAII layer over libpq: one connection, parameterised statements, results by value.
// Blocking by design: only the keystore's own thread and admin's worker thread call it, never an
// I/O thread.
#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace dkr::keystore {

class PgResult {
 public:
  explicit PgResult(PGresult* result) : result_(result, &PQclear) {}
  int rows() const { return PQntuples(result_.get()); }
  bool null(int row, int column) const { return PQgetisnull(result_.get(), row, column) != 0; }
  std::string_view text(int row, int column) const {
    return {PQgetvalue(result_.get(), row, column), static_cast<std::size_t>(PQgetlength(result_.get(), row, column))};
  }
  std::int64_t integer(int row, int column) const;
  // A bytea column (hex format) decoded.
  std::string bytes(int row, int column) const;
  std::string_view affected() const { return PQcmdTuples(result_.get()); }

 private:
  std::unique_ptr<PGresult, decltype(&PQclear)> result_;
};

// A statement parameter: text, or binary bytes (bytea), or NULL.
struct PgParam {
  std::optional<std::string> value;
  bool binary = false;
  static PgParam text(std::string v) { return {std::move(v), false}; }
  static PgParam bytes(std::string v) { return {std::move(v), true}; }
  static PgParam null() { return {std::nullopt, false}; }
};

class PgConnection {
 public:
  // Connects (blocking, bounded by connect_timeout, 5 s unless the DSN sets one). Errors are
  // ErrorCode::unavailable: the database is unreachable.
  static Result<std::unique_ptr<PgConnection>> connect(const std::string& dsn);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs one statement. Errors are ErrorCode::unavailable when the connection is gone, otherwise
  // internal; sqlstate() tells which SQL error it was.
  Result<PgResult> exec(std::string_view sql, const std::vector<PgParam>& params = {});
  // Runs several statements without parameters (migrations).
  Result<void> exec_script(const std::string& sql);
  bool healthy() const { return PQstatus(conn_) == CONNECTION_OK; }
  PGconn* raw() { return conn_; }
  // The SQLSTATE of the last failed exec ("40001", "23505", ...), empty otherwise.
  const std::string& sqlstate() const { return sqlstate_; }

 private:
  explicit PgConnection(PGconn* conn) : conn_(conn) {}
  Result<PgResult> finish(PGresult* raw);
  PGconn* conn_;
  std::string sqlstate_;
};

// Quotes an SQL identifier (schema names from the config).
std::string quote_identifier(std::string_view name);

}  // namespace dkr::keystore
