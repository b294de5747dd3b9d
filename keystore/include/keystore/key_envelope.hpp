#pragma once
// Envelope encryption of private keys for shared stores: AES-256-GCM under a key-encryption key
// (KEK) that lives only in a file, with a random 96-bit nonce per key and the domain and selector as
// associated data, so a ciphertext copied to another row does not decrypt.
#include <array>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace dkr::keystore {

class Kek {
 public:
  static constexpr std::size_t kSize = 32;
  // Reads a file holding 32 random bytes in base64 (surrounding whitespace ignored).
  static Result<Kek> load(const std::filesystem::path& file);
  // Writes a new random KEK to `file` (0600, atomic rename); refuses to overwrite one.
  static Result<void> create(const std::filesystem::path& file);
  static Kek from_bytes(const std::array<unsigned char, kSize>& bytes);

  Kek(const Kek& other) = default;
  Kek& operator=(const Kek& other) = default;
  ~Kek();

  // nonce (12) || ciphertext || tag (16).
  Result<std::string> seal(std::string_view plaintext, std::string_view domain, std::string_view selector) const;
  // Fails (ErrorCode::internal) when the KEK is wrong or the sealed bytes or their row were changed.
  Result<std::string> open(std::string_view sealed, std::string_view domain, std::string_view selector) const;

 private:
  Kek() = default;
  std::array<unsigned char, kSize> key_{};
};

}  // namespace dkr::keystore
