#include "admin/api_response.hpp"

namespace dkr::admin {

ApiResponse json_response(int status, const nlohmann::json& body) {
  ApiResponse response;
  response.status = status;
  // replace: key store data is ours, but a domain could carry invalid UTF-8 from a path parameter.
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  response.body += '\n';
  return response;
}

std::string_view error_code_for(int status) {
  switch (status) {
    case 400:
      return "bad_request";
    case 401:
      return "unauthorized";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 408:
      return "request_timeout";
    case 409:
      return "conflict";
    case 413:
      return "payload_too_large";
    case 431:
      return "header_too_large";
    case 503:
      return "unavailable";
    default:
      return status >= 500 ? "internal_error" : "error";
  }
}

ApiResponse error_response(int status, std::string_view code, std::string_view message) {
  return json_response(status, {{"error", code}, {"message", message}});
}

ApiResponse error_response(int status, std::string_view message) {
  return error_response(status, error_code_for(status), message);
}

}  // namespace dkr::admin
