#pragma once
// Envelope encryption of private keys for shared stores: AES-256-GCM under a key-encryption key
// (KEK) that lives only in a file, with a random 96-bit nonce per key and the domain and selector as
// associated data, so a ciphertext copied to another row does not decrypt.
//
// Version 2 (every seal since) also binds `bound`: the public data shown beside the sealed key (the
// key's DNS record, algorithm and bits; see sealed_key_binding()). Someone who can write to the
// database but has no KEK then cannot make the relay show, or sign under, a record that is not the
// sealed key's: the row no longer opens. A row whose private key is not in the database (a token
// reference) seals that reference the same way, binding its public record.
#include <array>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace dkr::keystore {

// What version 2 binds to a sealed key: "algorithm\0bits\0dns_record".
std::string sealed_key_binding(std::string_view algorithm, int bits, std::string_view dns_record);

class Kek {
 public:
  static constexpr std::size_t kSize = 32;
  // Reads a file holding 32 random bytes in base64 (surrounding whitespace ignored). A symlink is
  // resolved to its final target first (a Kubernetes Secret volume is made of them).
  static Result<Kek> load(const std::filesystem::path& file);
  // Writes a new random KEK to `file` (0600, atomic rename); refuses to overwrite one.
  static Result<void> create(const std::filesystem::path& file);
  static Kek from_bytes(const std::array<unsigned char, kSize>& bytes);

  Kek(const Kek& other) = default;
  Kek& operator=(const Kek& other) = default;
  ~Kek();

  // nonce (12) || ciphertext || tag (16), version 2 associated data (domain, selector, bound).
  Result<std::string> seal(std::string_view plaintext, std::string_view domain, std::string_view selector,
                           std::string_view bound) const;
  // Fails (ErrorCode::internal) when the KEK is wrong or the sealed bytes, their row or the bound
  // public data were changed.
  Result<std::string> open(std::string_view sealed, std::string_view domain, std::string_view selector,
                           std::string_view bound) const;
  // Version 1 (domain and selector only), as sealed before the public data was bound. A caller that
  // opens a key this way must check the public data against the key itself.
  Result<std::string> open_v1(std::string_view sealed, std::string_view domain, std::string_view selector) const;
  Result<std::string> seal_v1(std::string_view plaintext, std::string_view domain, std::string_view selector) const;

 private:
  Kek() = default;
  Result<std::string> seal_with(std::string_view plaintext, const std::string& aad) const;
  Result<std::string> open_with(std::string_view sealed, const std::string& aad) const;
  std::array<unsigned char, kSize> key_{};
};

}  // namespace dkr::keystore
