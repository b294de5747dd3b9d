#pragma once
// Schema version checks shared by the store and the migrations.
#include <string>

#include "common/result.hpp"

namespace dkr::keystore {

class PgConnection;

// 0 when the schema has no schema_version table.
Result<int> schema_version(PgConnection& conn, const std::string& schema);
// Refuses (ErrorCode::invalid, with what to do) a schema older or newer than this build knows.
Result<void> check_schema_version(PgConnection& conn, const std::string& schema);

}  // namespace dkr::keystore
