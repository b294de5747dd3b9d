#pragma once
// The stored form of an SMTP AUTH password: "$pbkdf2-sha256$<iterations>$<b64salt>$<b64hash>".
// One parser for config (rejecting a bad [[auth.users]] password_hash at load time, with key and
// line) and relay AUTH (verifying a password against it), so that every hash config accepts is one
// AUTH can use. Text only, no crypto: the PBKDF2 run lives with AUTH (relay/password_hash.hpp), and
// config stays free of OpenSSL.
// The base64 fields may be standard base64 (with or without padding) or passlib's "adapted" base64
// ('.' instead of '+'), so hashes made with passlib's pbkdf2_sha256 work unchanged.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base64.hpp"
#include "common/result.hpp"

namespace dkr {

inline constexpr std::string_view kPasswordHashPrefix = "$pbkdf2-sha256$";
// Bounds keep a hostile or mistyped config from making each AUTH take minutes or allocate much.
inline constexpr std::uint32_t kMaxPasswordHashIterations = 10'000'000;
inline constexpr std::size_t kMinPasswordHashKeyLength = 16;
inline constexpr std::size_t kMaxPasswordHashKeyLength = 256;

struct PasswordHash {
  std::uint32_t iterations = 0;
  std::string salt;  // raw bytes
  std::string hash;  // raw bytes (the derived key; its length is the PBKDF2 output length)
};

namespace password_hash_detail {

constexpr int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '.') return 62;
  if (c == '/') return 63;
  return -1;
}

inline std::optional<std::string> decode_base64(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const int v = base64_value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  if (bits >= 6) return std::nullopt;  // a single dangling character cannot encode a byte
  return out;
}

inline std::string encode_base64(std::string_view bytes) {
  std::string out = base64_encode(bytes);
  while (!out.empty() && out.back() == '=') out.pop_back();  // the format's base64 has no padding
  return out;
}

}  // namespace password_hash_detail

// The messages never quote the text: a hash is a secret even when malformed. config reports them
// after the key and line.
inline Result<PasswordHash> parse_password_hash(std::string_view text) {
  const std::string expected = "expected \"$pbkdf2-sha256$<iterations>$<base64 salt>$<base64 hash>\"";
  if (!text.starts_with(kPasswordHashPrefix)) return make_error(ErrorCode::invalid, expected);
  text.remove_prefix(kPasswordHashPrefix.size());
  std::vector<std::string_view> parts;
  while (true) {
    const auto dollar = text.find('$');
    parts.push_back(text.substr(0, dollar));
    if (dollar == std::string_view::npos) break;
    text.remove_prefix(dollar + 1);
  }
  if (parts.size() != 3) return make_error(ErrorCode::invalid, expected);

  const std::string_view digits = parts[0];
  if (digits.empty() || digits.size() > 9 || digits.front() == '0' ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return make_error(ErrorCode::invalid, expected + " (iterations must be a positive number)");
  }
  std::uint64_t iterations = 0;
  for (char c : digits) iterations = iterations * 10 + static_cast<std::uint64_t>(c - '0');
  if (iterations > kMaxPasswordHashIterations) {
    return make_error(ErrorCode::invalid,
                      expected + " (iterations must be at most " + std::to_string(kMaxPasswordHashIterations) + ")");
  }

  auto salt = password_hash_detail::decode_base64(parts[1]);
  auto hash = password_hash_detail::decode_base64(parts[2]);
  if (!salt || !hash || parts[1].empty() || parts[2].empty()) {
    return make_error(ErrorCode::invalid, expected + " (salt and hash must be base64)");
  }
  if (salt->empty() || hash->size() < kMinPasswordHashKeyLength || hash->size() > kMaxPasswordHashKeyLength) {
    return make_error(ErrorCode::invalid, expected + " (the salt must not be empty and the hash must be " +
                                              std::to_string(kMinPasswordHashKeyLength) + " to " +
                                              std::to_string(kMaxPasswordHashKeyLength) + " bytes)");
  }
  return PasswordHash{static_cast<std::uint32_t>(iterations), std::move(*salt), std::move(*hash)};
}

// The text form of `parts`, in standard base64 without padding (as passlib writes it, '+' kept).
inline std::string format_password_hash(const PasswordHash& parts) {
  return std::string(kPasswordHashPrefix) + std::to_string(parts.iterations) + "$" +
         password_hash_detail::encode_base64(parts.salt) + "$" + password_hash_detail::encode_base64(parts.hash);
}

}  // namespace dkr
