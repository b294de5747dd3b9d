#pragma once
// SMTP AUTH passwords, stored as "$pbkdf2-sha256$<iterations>$<b64salt>$<b64hash>".
// The base64 fields may be standard base64 (with or without padding) or passlib's "adapted" base64
// ('.' instead of '+'), so hashes made with passlib's pbkdf2_sha256 work unchanged.
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace dkr::relay {

struct PasswordHash {
  std::uint32_t iterations = 0;
  std::string salt;  // raw bytes
  std::string hash;  // raw bytes (the derived key; its length is the PBKDF2 output length)
};

Result<PasswordHash> parse_password_hash(std::string_view text);

// Constant-time with respect to the password contents. False for an unparsable hash.
bool verify_password(std::string_view password, std::string_view encoded_hash);

// A new hash with a random 16-byte salt and a 32-byte key, in the format above (standard base64
// without padding).
std::string make_password_hash(std::string_view password, std::uint32_t iterations = 600000);

}  // namespace dkr::relay
