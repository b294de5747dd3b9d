#include "pg_connection.hpp"

#include <cstring>

#include "keystore/dsn_redaction.hpp"

namespace dkr::keystore {

std::int64_t PgResult::integer(int row, int column) const {
  return std::strtoll(PQgetvalue(result_.get(), row, column), nullptr, 10);
}

std::string PgResult::bytes(int row, int column) const {
  std::size_t length = 0;
  unsigned char* raw =
      PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(result_.get(), row, column)), &length);
  if (raw == nullptr) return {};
  std::string out(reinterpret_cast<const char*>(raw), length);
  PQfreemem(raw);
  return out;
}

Result<std::unique_ptr<PgConnection>> PgConnection::connect(const std::string& dsn) {
  const bool has_timeout = dsn.find("connect_timeout") != std::string::npos;
  const char* keys[] = {"dbname", has_timeout ? nullptr : "connect_timeout", nullptr};
  const char* values[] = {dsn.c_str(), has_timeout ? nullptr : "5", nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr) return make_error(ErrorCode::unavailable, "keystore database: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    PQfinish(conn);
    return make_error(ErrorCode::unavailable,
                      "the keystore database is unreachable: " + redact_dsn_secrets(message, dsn));
  }
  // Notices (e.g. "schema already exists") are not errors worth a log line each.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  return std::unique_ptr<PgConnection>(new PgConnection(conn));
}

PgConnection::~PgConnection() { PQfinish(conn_); }

Result<PgResult> PgConnection::exec(std::string_view sql, const std::vector<PgParam>& params) {
  sqlstate_.clear();
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  for (const PgParam& param : params) {
    values.push_back(param.value ? param.value->data() : nullptr);
    lengths.push_back(param.value ? static_cast<int>(param.value->size()) : 0);
    formats.push_back(param.binary ? 1 : 0);
  }
  const std::string statement(sql);
  return finish(PQexecParams(conn_, statement.c_str(), static_cast<int>(params.size()), nullptr, values.data(),
                             lengths.data(), formats.data(), 0));
}

Result<PgResult> PgConnection::finish(PGresult* raw) {
  PgResult result(raw);
  const ExecStatusType status = PQresultStatus(raw);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
  if (const char* state = raw ? PQresultErrorField(raw, PG_DIAG_SQLSTATE) : nullptr) sqlstate_ = state;
  std::string message = raw ? PQresultErrorMessage(raw) : PQerrorMessage(conn_);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  if (PQstatus(conn_) != CONNECTION_OK || sqlstate_.starts_with("08") || sqlstate_.starts_with("57P")) {
    return make_error(ErrorCode::unavailable, "the keystore database is unreachable: " + message);
  }
  return make_error(ErrorCode::internal, "keystore database: " + message);
}

Result<void> PgConnection::exec_script(const std::string& sql) {
  sqlstate_.clear();
  auto done = finish(PQexec(conn_, sql.c_str()));
  if (!done) return done.error();
  return {};
}

std::string quote_identifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace dkr::keystore
