#pragma once
// A TSIG key (RFC 8945) as BIND writes it: `tsig-keygen -a hmac-sha256 NAME` prints
//
//   key "NAME" {
//           algorithm hmac-sha256;
//           secret "base64...";
//   };
//
// which named.conf includes and nsupdate -k reads; the relay reads the same file.
#include <filesystem>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace dkr::dns {

struct TsigKey {
  std::string name;       // the key's name, e.g. "dkim-relay" (a domain name; no trailing dot)
  std::string algorithm;  // "hmac-sha256" or "hmac-sha512"
  std::string secret;     // base64, as in the file. Secret: never log it.
};

// Exactly one `key` statement; comments (#, //, /* */) allowed. Errors name the line and never
// quote the secret.
Result<TsigKey> parse_tsig_key(std::string_view text);
Result<TsigKey> read_tsig_key_file(const std::filesystem::path& path);

}  // namespace dkr::dns
