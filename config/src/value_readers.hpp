#pragma once
// Reading one setting's value as a given type. Each reader reports its own errors (with the
// offending value quoted) and returns nullopt on failure.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "schema.hpp"

namespace dkr::config::detail {

// ", got <value>" for error messages.
std::string got(const ValueSource& value);

std::optional<std::string> read_string(const ValueSource& value, const Origin& origin, const Diagnostics& diagnostics);
// An integer within [min, max].
std::optional<std::int64_t> read_integer(const ValueSource& value, const Origin& origin, const Diagnostics& diagnostics,
                                         std::int64_t min, std::int64_t max);
// A size string, or a TOML integer counting bytes; at least `min`.
std::optional<std::uint64_t> read_size(const ValueSource& value, const Origin& origin, const Diagnostics& diagnostics,
                                       std::uint64_t min);
// A duration string with a unit; at least `min`.
std::optional<std::chrono::milliseconds> read_duration(const ValueSource& value, const Origin& origin,
                                                       const Diagnostics& diagnostics, std::chrono::milliseconds min);
std::optional<bool> read_bool(const ValueSource& value, const Origin& origin, const Diagnostics& diagnostics);

// A list whose items are strings, each converted by `convert(text, optional<T>& out)`, which
// returns what is wrong with a bad item. nullopt if any item is wrong; all of them are reported.
template <class T, class Convert>
std::optional<std::vector<T>> read_list(const ValueSource& value, const Origin& origin, const Diagnostics& diagnostics,
                                        std::string_view expected, Convert convert) {
  auto items = value.list();
  if (!items) {
    diagnostics.error(origin, "expected an array of " + std::string(expected) + got(value));
    return std::nullopt;
  }
  std::vector<T> out;
  bool ok = true;
  for (const auto& item : *items) {
    const Origin& where = item.origin.line > 0 ? item.origin : origin;
    if (!item.text) {
      diagnostics.error(where, "expected " + std::string(expected) + " in the array, got " + item.description);
      ok = false;
      continue;
    }
    std::optional<T> converted;
    if (auto problem = convert(*item.text, converted); problem) {
      diagnostics.error(where, *problem + ", got " + item.description);
      ok = false;
      continue;
    }
    out.push_back(std::move(*converted));
  }
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace dkr::config::detail
