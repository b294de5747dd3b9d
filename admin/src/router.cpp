#include "admin/router.hpp"

#include <algorithm>
#include <optional>

namespace dkr::admin {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = hex_value(text[i + 1]);
      const int lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

struct Pattern {
  std::vector<std::string_view> parts;  // "{domain}" / "{selector}" are parameters
  std::vector<std::pair<std::string_view, Endpoint>> methods;
};

std::vector<std::string_view> split(std::string_view text, char separator);

// The endpoint table's rows grouped by path, in table order.
std::vector<Pattern> build_patterns() {
  std::vector<Pattern> patterns;
  for (const EndpointSpec& spec : endpoint_table()) {
    const auto parts = split(spec.path.substr(1), '/');
    auto same = std::find_if(patterns.begin(), patterns.end(), [&](const Pattern& p) { return p.parts == parts; });
    if (same == patterns.end()) same = patterns.insert(patterns.end(), Pattern{parts, {}});
    same->methods.emplace_back(spec.method, spec.endpoint);
  }
  return patterns;
}

const std::vector<Pattern>& patterns() {
  static const std::vector<Pattern> kPatterns = build_patterns();
  return kPatterns;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return parts;
}

}  // namespace

std::variant<Route, RouteError> match_route(std::string_view method, std::string_view target) {
  std::string_view path = target;
  std::string_view query;
  if (const auto q = target.find('?'); q != std::string_view::npos) {
    path = target.substr(0, q);
    query = target.substr(q + 1);
  }
  if (path.empty() || path.front() != '/') return RouteError{400, "request target must be an absolute path", {}};
  path.remove_prefix(1);

  std::vector<std::string> segments;
  for (std::string_view raw : split(path, '/')) {
    auto decoded = percent_decode(raw, false);
    if (!decoded) return RouteError{400, "bad percent-encoding in path", {}};
    segments.push_back(std::move(*decoded));
  }

  for (const Pattern& pattern : patterns()) {
    if (pattern.parts.size() != segments.size()) continue;
    Route route;
    bool matches = true;
    for (std::size_t i = 0; i < segments.size() && matches; ++i) {
      if (pattern.parts[i] == "{domain}") {
        route.domain = segments[i];
        matches = !segments[i].empty();
      } else if (pattern.parts[i] == "{selector}") {
        route.selector = segments[i];
        matches = !segments[i].empty();
      } else {
        matches = pattern.parts[i] == segments[i];
      }
    }
    if (!matches) continue;

    for (const auto& [allowed, endpoint] : pattern.methods) {
      if (allowed != method) continue;
      route.endpoint = endpoint;
      if (!query.empty()) {
        for (std::string_view pair : split(query, '&')) {
          if (pair.empty()) continue;
          const auto eq = pair.find('=');
          auto key = percent_decode(pair.substr(0, eq), true);
          auto value = percent_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), true);
          if (!key || !value) return RouteError{400, "bad percent-encoding in query", {}};
          route.query[std::move(*key)] = std::move(*value);
        }
      }
      return route;
    }
    RouteError error{405, "method " + std::string(method) + " not allowed on this path", {}};
    for (const auto& entry : pattern.methods) error.allow.emplace_back(entry.first);
    return error;
  }
  return RouteError{404, "no such endpoint", {}};
}

bool is_keystore_endpoint(Endpoint endpoint) { return endpoint_spec(endpoint).runs_on == RunsOn::Worker; }

bool is_public_path(std::string_view target) {
  const auto routed = match_route("GET", target);
  const auto* route = std::get_if<Route>(&routed);
  return route != nullptr && endpoint_spec(route->endpoint).access == Access::Public;
}

}  // namespace dkr::admin
