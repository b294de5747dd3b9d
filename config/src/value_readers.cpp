#include "value_readers.hpp"

#include <algorithm>
#include <cctype>
#include <limits>

namespace dkr::config::detail {

std::string got(const ValueSource& value) { return ", got " + value.describe(); }

std::optional<std::string> read_string(const ValueSource& value, const Origin& origin, const Diagnostics& diagnostics) {
  auto text = value.text();
  if (!text) diagnostics.error(origin, "expected a string" + got(value));
  return text;
}

std::optional<std::int64_t> read_integer(const ValueSource& value, const Origin& origin, const Diagnostics& diagnostics,
                                         std::int64_t min, std::int64_t max) {
  auto number = value.integer();
  if (!number) {
    diagnostics.error(origin, "expected an integer" + got(value));
    return std::nullopt;
  }
  if (*number < min || *number > max) {
    const bool no_upper = max == std::numeric_limits<std::uint32_t>::max();
    diagnostics.error(origin, (no_upper ? "must be at least " + std::to_string(min)
                                        : "must be between " + std::to_string(min) + " and " + std::to_string(max)) +
                                  got(value));
    return std::nullopt;
  }
  return number;
}

std::optional<std::uint64_t> read_size(const ValueSource& value, const Origin& origin, const Diagnostics& diagnostics,
                                       std::uint64_t min) {
  std::optional<std::uint64_t> bytes;
  if (auto text = value.text()) {
    bytes = parse_size(*text);
  } else if (auto number = value.integer(); number && *number >= 0) {
    bytes = static_cast<std::uint64_t>(*number);  // a TOML integer is a byte count
  }
  if (!bytes) {
    diagnostics.error(origin,
                      "expected a size like \"25MiB\" (units B, KB, MB, GB, KiB, MiB, GiB; case matters)" + got(value));
    return std::nullopt;
  }
  if (*bytes < min) {
    diagnostics.error(origin, "must be at least " + format_size(min) + got(value));
    return std::nullopt;
  }
  return bytes;
}

std::optional<std::chrono::milliseconds> read_duration(const ValueSource& value, const Origin& origin,
                                                       const Diagnostics& diagnostics, std::chrono::milliseconds min) {
  const std::string expected = "expected a duration like \"30s\", \"5m\", \"1h\" or \"250ms\"";
  auto text = value.text();
  if (!text) {
    if (value.integer()) {
      diagnostics.error(origin, expected + got(value) + "; a bare number is ambiguous, add a unit");
    } else {
      diagnostics.error(origin, expected + got(value));
    }
    return std::nullopt;
  }
  auto duration = parse_duration(*text);
  if (!duration) {
    const bool bare_number = !text->empty() && std::all_of(text->begin(), text->end(), [](char c) {
      return std::isdigit(static_cast<unsigned char>(c));
    });
    diagnostics.error(origin, expected + got(value) + (bare_number ? "; a bare number is ambiguous, add a unit" : ""));
    return std::nullopt;
  }
  if (*duration < min) {
    diagnostics.error(origin, "must be at least " + format_duration(min) + got(value));
    return std::nullopt;
  }
  return duration;
}

std::optional<bool> read_bool(const ValueSource& value, const Origin& origin, const Diagnostics& diagnostics) {
  auto flag = value.boolean();
  if (!flag) diagnostics.error(origin, "expected true or false" + got(value));
  return flag;
}

}  // namespace dkr::config::detail
