#pragma once
// SMTP AUTH passwords checked against, and made as, the PBKDF2-HMAC-SHA256 hashes of
// common/password_hash_format.hpp. The crypto lives here, beside AUTH, where OpenSSL already is; the
// format alone is in common/ so that config can reject a bad hash without linking OpenSSL.
#include <cstdint>
#include <string>
#include <string_view>

namespace dkr::relay {

// Constant-time with respect to the password contents. False for an unparsable hash.
bool verify_password(std::string_view password, std::string_view encoded_hash);

// A new hash with a random 16-byte salt and a 32-byte key.
std::string make_password_hash(std::string_view password, std::uint32_t iterations = 600000);

}  // namespace dkr::relay
