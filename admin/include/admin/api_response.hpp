#pragma once
// What a handler answers, independent of the HTTP library.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace dkr::admin {

struct ApiResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

ApiResponse json_response(int status, const nlohmann::json& body);
// Body {"error": code, "message": message}; code is a stable word clients can switch on.
ApiResponse error_response(int status, std::string_view code, std::string_view message);
// The stable error word of a status: 400 bad_request, 404 not_found, 409 conflict, ...
std::string_view error_code_for(int status);
ApiResponse error_response(int status, std::string_view message);

}  // namespace dkr::admin
