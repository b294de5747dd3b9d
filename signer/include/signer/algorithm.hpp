#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace dkr::signer {

enum class Algorithm { RsaSha256, Ed25519Sha256 };
enum class Canon { Simple, Relaxed };

struct Canonicalization {
  Canon header = Canon::Relaxed;
  Canon body = Canon::Relaxed;
  friend bool operator==(const Canonicalization&, const Canonicalization&) = default;
};

// "rsa-sha256" / "ed25519-sha256"
std::optional<Algorithm> parse_algorithm(std::string_view text);
std::string_view to_string(Algorithm algorithm);
// DNS key-record k= value: "rsa" / "ed25519"
std::string_view key_type(Algorithm algorithm);

// "relaxed/relaxed", "simple" (= simple/simple), "relaxed" (= relaxed/simple) per RFC 6376 §3.5 c=
std::optional<Canonicalization> parse_canonicalization(std::string_view text);
std::string to_string(Canonicalization canon);

}  // namespace dkr::signer
