// The DKIM verifier on untrusted messages: DKIM-Signature tag lists, h= lists, l= lengths, base64,
// and the signature check itself, with key records from a fixed in-memory "DNS".
//
// Input: a signed message (CRLF line ends). The seeds were signed with the private halves of the
// keys below (selector "rsa": RSA 2048, "ed": Ed25519, domain example.com), so the fuzzer starts
// from signatures that pass and explores the whole path.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "signer/verifier.hpp"

namespace {

using dkr::fuzz::check;

constexpr std::string_view kRsaRecord =
    "v=DKIM1; k=rsa; "
    "p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAsIx0RG4v2TOcgfLbarQuvyb10G+"
    "W1JnTm8GpqaQKbGIq6IWs5JuLwruxK04G5sgz9FOeOAT7+VGxLPeBPpQZaa+z5lSxPT/"
    "iB08Yy2wGM8UIHLWXGfJL6rsf2qBYlsXR2SzVqjTX6M63CNR/"
    "sAY2s8mYss5V7YQPIrVMzoPyaC7Fc2ajTLglezfzTwdDMflEW1weEdz0TvyNLonenOatGWbkN3Z7uFa7pV4Bxc0QxEOlZjNCUnjpCV2jhc4oPONDhw"
    "I5zL8GDl2GGfp01e2sUMBCvuH82SpfGCZgDe6nn8+Rx5L9qQgbFr4j+1K/YRDrsxAbIUFk9ABS0/xp03Kv/wIDAQAB";
constexpr std::string_view kEd25519Record = "v=DKIM1; k=ed25519; p=OhhDb/ETUQY+/AXysWDb1xhNdfGJ6py+12tYB6zqNFA=";

dkr::Result<std::string> lookup(std::string_view selector, std::string_view domain) {
  if (domain != "example.com") return dkr::make_error("NXDOMAIN");
  if (selector == "rsa") return std::string(kRsaRecord);
  if (selector == "ed") return std::string(kEd25519Record);
  if (selector == "revoked") return std::string("v=DKIM1; k=rsa; p=");
  if (selector == "sha1") return std::string(kRsaRecord) + "; h=sha1";
  if (selector == "mixed") return std::string("v=DKIM1; k=ed25519; p=") + std::string(kRsaRecord.substr(18));
  return dkr::make_error("NXDOMAIN");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view message(reinterpret_cast<const char*>(data), size);
  const dkr::signer::KeyLookup key_lookup = lookup;
  const auto results = dkr::signer::verify_message(message, key_lookup);
  for (const auto& result : results) {
    check(!result.reason.empty(), "verify result without a reason", message);
    check(!result.pass || result.reason == "ok", "a passing result whose reason is not ok", message);
    if (result.pass) {
      // A pass must come from one of our keys: never from a revoked, unknown or mismatched record.
      std::string domain = result.domain;
      for (char& c : domain) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
      check(domain == "example.com", "pass for a domain without a key", message);
      check(result.selector == "rsa" || result.selector == "ed", "pass for a selector without a usable key", message);
    }
  }
  // The record parser sees fuzzed text too.
  if (auto record = dkr::signer::parse_key_record(message)) {
    (void)record->revoked();
  }
  return 0;
}
