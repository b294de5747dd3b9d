#include "admin/json_body.hpp"

#include <algorithm>
#include <string>

namespace dkr::admin {
namespace {

std::string_view type_name(FieldType type) {
  switch (type) {
    case FieldType::String:
      return "a string";
    case FieldType::Integer:
      return "an integer";
    case FieldType::Boolean:
      return "a boolean";
  }
  return "?";
}

bool has_type(const nlohmann::json& value, FieldType type) {
  switch (type) {
    case FieldType::String:
      return value.is_string();
    case FieldType::Integer:
      return value.is_number_integer();
    case FieldType::Boolean:
      return value.is_boolean();
  }
  return false;
}

}  // namespace

Result<nlohmann::json> parse_json_object(std::string_view body) {
  const bool blank =
      std::all_of(body.begin(), body.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
  if (blank) return nlohmann::json::object();
  nlohmann::json parsed;
  try {
    parsed = nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for 1e400
    return make_error(std::string("malformed JSON: ") + e.what());
  }
  if (!parsed.is_object()) return make_error("request body must be a JSON object");
  return parsed;
}

Result<void> check_fields(const nlohmann::json& object, std::initializer_list<FieldSpec> fields) {
  for (const auto& item : object.items()) {
    // Not a structured binding: clang 14 (the fuzz build) cannot capture one in the lambda below.
    const std::string& name = item.key();
    const nlohmann::json& value = item.value();
    const auto spec = std::find_if(fields.begin(), fields.end(), [&](const FieldSpec& f) { return f.name == name; });
    if (spec == fields.end()) return make_error("unknown field '" + name + "'");
    if (!has_type(value, spec->type)) {
      return make_error("field '" + name + "' must be " + std::string(type_name(spec->type)));
    }
  }
  for (const FieldSpec& spec : fields) {
    if (spec.required && !object.contains(spec.name)) {
      return make_error("missing required field '" + std::string(spec.name) + "'");
    }
  }
  return {};
}

}  // namespace dkr::admin
