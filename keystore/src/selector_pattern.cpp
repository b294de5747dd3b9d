#include "selector_pattern.hpp"

#include <ctime>

#include "keystore/domain_name.hpp"

namespace dkr::keystore {
namespace {

constexpr std::string_view kSeq = "{seq}";
constexpr std::size_t kMaxSequence = 26 * 27 * 27;  // up to "zzz": far beyond any real rotation

}  // namespace

std::string sequence_label(std::size_t index) {
  std::string label;
  ++index;
  while (index > 0) {
    --index;
    label.insert(label.begin(), static_cast<char>('a' + index % 26));
    index /= 26;
  }
  return label;
}

Result<std::string> next_selector(std::string_view pattern, std::int64_t now,
                                  const std::function<bool(const std::string&)>& taken) {
  const std::time_t time = static_cast<std::time_t>(now);
  std::tm tm{};
  if (::gmtime_r(&time, &tm) == nullptr) return make_error("cannot convert time for selector");
  char expanded[256];
  const std::string format(pattern);
  const std::size_t length = std::strftime(expanded, sizeof expanded, format.c_str(), &tm);
  if (length == 0) return make_error(ErrorCode::invalid, "selector pattern '" + format + "' expands to nothing");
  const std::string base(expanded, length);

  const std::size_t seq = base.find(kSeq);
  if (seq == std::string::npos) {
    auto selector = normalize_selector(base);
    if (!selector) return make_error(selector.error().code, "selector pattern: " + selector.error().message);
    if (taken(*selector)) {
      return make_error(ErrorCode::conflict,
                        "selector '" + *selector + "' from the pattern is already used; choose a selector explicitly");
    }
    return selector;
  }
  for (std::size_t i = 0; i < kMaxSequence; ++i) {
    std::string candidate = base;
    candidate.replace(seq, kSeq.size(), sequence_label(i));
    auto selector = normalize_selector(candidate);
    if (!selector) return make_error(selector.error().code, "selector pattern: " + selector.error().message);
    if (!taken(*selector)) return selector;
  }
  return make_error(ErrorCode::conflict, "selector pattern '" + format + "' has no unused sequence left");
}

}  // namespace dkr::keystore
