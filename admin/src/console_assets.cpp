#include "console_assets.hpp"

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>

namespace dkr::admin {
namespace {

// The page loads only its own files: no inline script or style, no framing, no referrer to leak.
void add_security_headers(ApiResponse& response) {
  response.headers.emplace_back("Content-Security-Policy",
                                "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
  response.headers.emplace_back("X-Frame-Options", "DENY");
  response.headers.emplace_back("Referrer-Policy", "no-referrer");
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
}

std::string_view content_type_of(std::string_view name) {
  static const std::map<std::string_view, std::string_view> kTypes = {
      {".html", "text/html; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".json", "application/json"},
  };
  const auto dot = name.rfind('.');
  if (dot != std::string_view::npos) {
    if (const auto found = kTypes.find(name.substr(dot)); found != kTypes.end()) return found->second;
  }
  return "application/octet-stream";
}

// A validator per build: FNV-1a of the bytes is enough to tell versions apart (not a security check).
std::string etag_of(std::string_view bytes) {
  std::uint64_t hash = 1469598103934665603ull;
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  char text[24];
  std::snprintf(text, sizeof text, "\"%016llx\"", static_cast<unsigned long long>(hash));
  return text;
}

struct Served {
  std::string_view bytes;
  std::string_view content_type;
  std::string etag;
};

const std::map<std::string, Served, std::less<>>& served_files() {
  static const auto kFiles = [] {
    std::map<std::string, Served, std::less<>> files;
    for (const ConsoleFile& file : embedded_console_files()) {
      files.emplace(std::string(file.name), Served{file.bytes, content_type_of(file.name), etag_of(file.bytes)});
    }
    return files;
  }();
  return kFiles;
}

ApiResponse console_error(int status, std::string_view message) {
  ApiResponse response = error_response(status, message);
  add_security_headers(response);
  return response;
}

}  // namespace

std::optional<ApiResponse> console_response(std::string_view method, std::string_view target,
                                            std::string_view if_none_match) {
  const std::string_view path = target.substr(0, target.find('?'));
  if (path != "/ui" && path.substr(0, 4) != "/ui/") return std::nullopt;
  if (method != "GET") {
    ApiResponse response = console_error(405, "method " + std::string(method) + " not allowed on this path");
    response.headers.emplace_back("Allow", "GET");
    return response;
  }
  if (path == "/ui") {
    ApiResponse response;
    response.status = 301;
    response.content_type = "text/plain; charset=utf-8";
    response.body = "moved to /ui/\n";
    response.headers.emplace_back("Location", "/ui/");
    add_security_headers(response);
    return response;
  }
  std::string_view name = path.substr(4);
  if (name.empty()) name = "index.html";
  const auto& files = served_files();
  const auto found = files.find(name);
  if (found == files.end()) return console_error(404, "no such file in the console");

  ApiResponse response;
  response.content_type = std::string(found->second.content_type);
  response.headers.emplace_back("ETag", found->second.etag);
  // Revalidate every time: an upgraded relay serves the new page at once, unchanged files cost a 304.
  response.headers.emplace_back("Cache-Control", "no-cache");
  add_security_headers(response);
  if (!if_none_match.empty() && if_none_match == found->second.etag) {
    response.status = 304;
    return response;
  }
  response.body = std::string(found->second.bytes);
  return response;
}

}  // namespace dkr::admin
