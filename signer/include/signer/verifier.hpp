#pragma once
// A DKIM verifier (RFC 6376 §6) for self-checks and `dkim-relay verify`.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "signer/algorithm.hpp"
#include "common/result.hpp"

typedef struct evp_pkey_st EVP_PKEY;

namespace dkr::signer {

// A parsed DNS key record (RFC 6376 §3.6.1).
struct KeyRecord {
  std::string key_type = "rsa";     // k=
  std::string public_key_b64;       // p=, empty when revoked
  std::vector<std::string> hashes;  // h=, empty = any
  std::vector<std::string> flags;   // t=
  bool revoked() const { return public_key_b64.empty(); }
};
Result<KeyRecord> parse_key_record(std::string_view txt);

// Returns the TXT record text for "<selector>._domainkey.<domain>", or an error.
using KeyLookup = std::function<Result<std::string>(std::string_view selector, std::string_view domain)>;

struct VerifyResult {
  std::string domain;
  std::string selector;
  std::string algorithm;
  bool pass = false;
  std::string reason;  // "ok" on pass
};

std::vector<VerifyResult> verify_message(std::string_view message, const KeyLookup& lookup);

}  // namespace dkr::signer
