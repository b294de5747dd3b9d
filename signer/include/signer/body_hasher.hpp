#pragma once
// SHA-256 of a canonicalized body, fed in chunks.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/base64.hpp"
#include "signer/algorithm.hpp"
#include "signer/canonicalization.hpp"

namespace dkr::signer {

using Sha256Digest = std::array<std::uint8_t, 32>;

class BodyHasher {
 public:
  explicit BodyHasher(Canon canon);
  ~BodyHasher();
  BodyHasher(const BodyHasher&) = delete;
  BodyHasher& operator=(const BodyHasher&) = delete;

  void update(std::string_view chunk);
  Sha256Digest finish();
  // Canonical body length so far (for the verifier's l= handling).
  std::uint64_t canonical_length() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

Sha256Digest sha256(std::string_view data);
using dkr::base64_encode;  // common/base64.hpp
// Ignores whitespace (FWS inside b= / bh= / p=); returns nullopt on invalid characters.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace dkr::signer
