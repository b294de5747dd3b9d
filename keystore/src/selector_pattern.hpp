#pragma once
// Names new selectors from a pattern such as "s%Y%m{seq}" -> "s202611a", "s202611b", ...
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace dkr::keystore {

// {seq} counts a..z, aa..az, ba.. (bijective base 26): 0 -> "a", 25 -> "z", 26 -> "aa".
std::string sequence_label(std::size_t index);

// strftime fields are expanded in UTC at `now`; {seq} is the first value for which `taken` is
// false. Without {seq} the pattern yields one name, refused when taken.
Result<std::string> next_selector(std::string_view pattern, std::int64_t now,
                                  const std::function<bool(const std::string&)>& taken);

}  // namespace dkr::keystore
