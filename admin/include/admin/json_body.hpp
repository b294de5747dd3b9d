#pragma once
// Strict reading of JSON request bodies: an object, only known fields, each of the expected type.
// Errors name the offending field so an operator can fix the call without reading the server log.
#include <initializer_list>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace dkr::admin {

enum class FieldType { String, Integer, Boolean };

struct FieldSpec {
  std::string_view name;
  FieldType type = FieldType::String;
  bool required = false;
};

// An empty (or all-whitespace) body reads as {} so bodiless POSTs and DELETEs are accepted.
Result<nlohmann::json> parse_json_object(std::string_view body);
Result<void> check_fields(const nlohmann::json& object, std::initializer_list<FieldSpec> fields);

}  // namespace dkr::admin
