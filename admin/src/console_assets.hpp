#pragma once
// The operator console (admin/ui/), compiled into the binary and served at /ui/ without a token: the
// files are public, the page asks for the token and sends it to /v1 itself.
#include <optional>
#include <string_view>
#include <vector>

#include "admin/api_response.hpp"

namespace dkr::admin {

struct ConsoleFile {
  std::string_view name;   // path under admin/ui/, e.g. "console.js"
  std::string_view bytes;  // the file as it was at build time
};

// Defined in the source file generated from admin/ui/ by admin/cmake/embed_console.cmake.
const std::vector<ConsoleFile>& embedded_console_files();

// The answer to a request under /ui, or nullopt when the target is not the console's.
std::optional<ApiResponse> console_response(std::string_view method, std::string_view target,
                                            std::string_view if_none_match);

}  // namespace dkr::admin
