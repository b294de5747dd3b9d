#pragma once
// Domain and selector names as the key store keys them: lowercase A-labels.
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace dkr::keystore {

inline constexpr std::size_t kMaxDomainLength = 253;
inline constexpr std::size_t kMaxLabelLength = 63;

// RFC 3492 Punycode of a sequence of Unicode code points (no "xn--" prefix). Fails on overflow.
Result<std::string> punycode_encode(std::u32string_view code_points);
// The reverse (no "xn--" prefix); fails on a bad digit, overflow or a value that is no code point.
Result<std::u32string> punycode_decode(std::string_view encoded);

// Lowercases, strips one trailing dot and converts U-labels to A-labels ("bücher.example" ->
// "xn--bcher-kva.example"), then validates the result as a host name (LDH labels of 1..63
// bytes, at most 253 bytes, at least two labels). Non-ASCII case folding covers Latin-1,
// Latin Extended-A, Greek and Cyrillic; no Unicode normalisation (input is expected in NFC).
Result<std::string> normalize_domain(std::string_view name);

// For comparing names in access rules: the A-label form when `name` is valid, else its ASCII
// lowercase (so that an invalid name still compares, and matches nothing it should not).
std::string comparable_domain(std::string_view name);

// True when `domain` lies strictly below `parent` ("a.example.com" below "example.com"); both
// already comparable.
bool is_strict_subdomain(std::string_view domain, std::string_view parent);

// Validates an already-normalised name (lowercase LDH, no trailing dot).
Result<void> validate_domain(std::string_view name);

// Lowercases and validates a selector: dot-separated labels of [a-z0-9][a-z0-9-_]* (RFC 6376
// selectors are sub-domains; '_' is tolerated as many operators use it), each at most 63 bytes.
Result<std::string> normalize_selector(std::string_view selector);

}  // namespace dkr::keystore
