// Sizes and durations as operators write them ("25MiB", "30s").
#include <array>
#include <charconv>
#include <limits>
#include <utility>

#include "config/config.hpp"

namespace dkr::config {
namespace {

// Leading decimal digits of `text` and the rest; nullopt without digits or on overflow.
std::optional<std::pair<std::uint64_t, std::string_view>> split_number(std::string_view text) {
  std::uint64_t number = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, number, 10);
  if (ec != std::errc{} || ptr == text.data()) return std::nullopt;
  return std::pair{number, std::string_view(ptr, static_cast<std::size_t>(end - ptr))};
}

std::optional<std::uint64_t> checked_multiply(std::uint64_t a, std::uint64_t b) {
  if (b != 0 && a > std::numeric_limits<std::uint64_t>::max() / b) return std::nullopt;
  return a * b;
}

struct Unit {
  std::string_view suffix;
  std::uint64_t factor;
};

// Formatting tries these in order, so binary units win over decimal ones when both are exact.
constexpr std::array<Unit, 10> kSizeUnits{{
    {"TiB", 1ull << 40},
    {"GiB", 1ull << 30},
    {"MiB", 1ull << 20},
    {"KiB", 1ull << 10},
    {"TB", 1'000'000'000'000ull},
    {"GB", 1'000'000'000ull},
    {"MB", 1'000'000ull},
    {"KB", 1'000ull},
    {"B", 1},
    {"", 1},
}};

constexpr std::array<Unit, 5> kDurationUnits{{
    {"d", 86'400'000},
    {"h", 3'600'000},
    {"m", 60'000},
    {"s", 1'000},
    {"ms", 1},
}};

}  // namespace

std::optional<std::uint64_t> parse_size(std::string_view text) {
  auto split = split_number(text);
  if (!split) return std::nullopt;
  for (const auto& unit : kSizeUnits) {
    if (unit.suffix == split->second) return checked_multiply(split->first, unit.factor);
  }
  return std::nullopt;
}

std::string format_size(std::uint64_t bytes) {
  if (bytes == 0) return "0";
  for (const auto& unit : kSizeUnits) {
    if (unit.factor > 1 && bytes % unit.factor == 0) {
      return std::to_string(bytes / unit.factor) + std::string(unit.suffix);
    }
  }
  return std::to_string(bytes);
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  auto split = split_number(text);
  if (!split) return std::nullopt;
  for (const auto& unit : kDurationUnits) {
    if (unit.suffix != split->second) continue;
    auto ms = checked_multiply(split->first, unit.factor);
    if (!ms || *ms > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return std::nullopt;
    }
    return std::chrono::milliseconds(static_cast<std::int64_t>(*ms));
  }
  return std::nullopt;
}

std::string format_duration(std::chrono::milliseconds duration) {
  const auto ms = duration.count();
  if (ms == 0) return "0s";
  for (const auto& unit : kDurationUnits) {
    const auto factor = static_cast<std::int64_t>(unit.factor);
    if (ms % factor == 0) return std::to_string(ms / factor) + std::string(unit.suffix);
  }
  return std::to_string(ms) + "ms";  // unreachable: the ms unit always divides
}

}  // namespace dkr::config
