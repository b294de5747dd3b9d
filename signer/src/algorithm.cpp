#include "signer/algorithm.hpp"

namespace dkr::signer {

std::optional<Algorithm> parse_algorithm(std::string_view text) {
  if (text == "rsa-sha256") return Algorithm::RsaSha256;
  if (text == "ed25519-sha256") return Algorithm::Ed25519Sha256;
  return std::nullopt;
}

std::string_view to_string(Algorithm algorithm) {
  return algorithm == Algorithm::RsaSha256 ? "rsa-sha256" : "ed25519-sha256";
}

std::string_view key_type(Algorithm algorithm) { return algorithm == Algorithm::RsaSha256 ? "rsa" : "ed25519"; }

namespace {
std::optional<Canon> parse_canon(std::string_view text) {
  if (text == "simple") return Canon::Simple;
  if (text == "relaxed") return Canon::Relaxed;
  return std::nullopt;
}
}  // namespace

std::optional<Canonicalization> parse_canonicalization(std::string_view text) {
  const auto slash = text.find('/');
  const auto header = parse_canon(text.substr(0, slash));
  if (!header) return std::nullopt;
  // RFC 6376 §3.5: a missing body algorithm means "simple".
  if (slash == std::string_view::npos) return Canonicalization{*header, Canon::Simple};
  const auto body = parse_canon(text.substr(slash + 1));
  if (!body) return std::nullopt;
  return Canonicalization{*header, *body};
}

std::string to_string(Canonicalization canon) {
  auto name = [](Canon c) { return c == Canon::Simple ? "simple" : "relaxed"; };
  return std::string(name(canon.header)) + "/" + name(canon.body);
}

}  // namespace dkr::signer
