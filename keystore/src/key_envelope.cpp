#include "keystore/key_envelope.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <memory>

#include "durable_file.hpp"

namespace dkr::keystore {
namespace {

constexpr std::size_t kNonceSize = 12;
constexpr std::size_t kTagSize = 16;

using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

std::string associated_data(std::string_view domain, std::string_view selector) {
  // A NUL cannot occur in either name, so the pair is unambiguous.
  std::string aad = "dkim-relay key v1";
  aad += '\0';
  aad += domain;
  aad += '\0';
  aad += selector;
  return aad;
}

std::string associated_data_v2(std::string_view domain, std::string_view selector, std::string_view bound) {
  // The names hold no NUL; `bound` is last, so it may hold anything.
  std::string aad = "dkim-relay key v2";
  aad += '\0';
  aad += domain;
  aad += '\0';
  aad += selector;
  aad += '\0';
  aad += bound;
  return aad;
}

std::string trim(std::string text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  const auto last = text.find_last_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  return text.substr(first, last - first + 1);
}

}  // namespace

Kek::~Kek() { OPENSSL_cleanse(key_.data(), key_.size()); }

Kek Kek::from_bytes(const std::array<unsigned char, kSize>& bytes) {
  Kek kek;
  kek.key_ = bytes;
  return kek;
}

Result<Kek> Kek::load(const std::filesystem::path& file) {
  // Kubernetes mounts a Secret as a chain of symlinks (kek -> ..data/kek, ..data -> ..2026_..): the
  // file read is the chain's final target, opened without following links from there on. Whoever
  // calls this checks that target's owner and mode (app/secret_files.hpp, which follows links too).
  std::error_code ec;
  const std::filesystem::path target = std::filesystem::canonical(file, ec);
  mode_t mode = 0;
  auto content = read_file(ec ? file : target, &mode);
  if (!content) return make_error(ErrorCode::internal, "kek_file " + file.string() + ": " + content.error().message);
  std::string text = trim(std::move(*content));
  std::string decoded(text.size() + 3, '\0');
  const int length =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                      reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  int padding = 0;
  for (auto it = text.rbegin(); it != text.rend() && *it == '='; ++it) ++padding;
  OPENSSL_cleanse(text.data(), text.size());
  if (length < 0 || static_cast<std::size_t>(length - padding) != kSize) {
    OPENSSL_cleanse(decoded.data(), decoded.size());
    return make_error(ErrorCode::invalid, "kek_file " + file.string() +
                                              ": expected 32 bytes in base64 (make one with dkim-relay keys new-kek)");
  }
  Kek kek;
  std::copy_n(decoded.begin(), kSize, kek.key_.begin());
  OPENSSL_cleanse(decoded.data(), decoded.size());
  return kek;
}

Result<void> Kek::create(const std::filesystem::path& file) {
  std::error_code ec;
  if (std::filesystem::exists(file, ec)) {
    return make_error(ErrorCode::conflict, file.string() + " exists; a KEK is never overwritten");
  }
  std::array<unsigned char, kSize> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) return make_error("RAND_bytes failed");
  std::string text(4 * ((kSize + 2) / 3) + 1, '\0');
  const int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()), bytes.data(), kSize);
  text.resize(static_cast<std::size_t>(length));
  text += '\n';
  auto written = write_file_durably(file, text, 0600);
  OPENSSL_cleanse(bytes.data(), bytes.size());
  OPENSSL_cleanse(text.data(), text.size());
  return written;
}

std::string sealed_key_binding(std::string_view algorithm, int bits, std::string_view dns_record) {
  std::string bound(algorithm);
  bound += '\0';
  bound += std::to_string(bits);
  bound += '\0';
  bound += dns_record;
  return bound;
}

Result<std::string> Kek::seal(std::string_view plaintext, std::string_view domain, std::string_view selector,
                              std::string_view bound) const {
  return seal_with(plaintext, associated_data_v2(domain, selector, bound));
}

Result<std::string> Kek::open(std::string_view sealed, std::string_view domain, std::string_view selector,
                              std::string_view bound) const {
  return open_with(sealed, associated_data_v2(domain, selector, bound));
}

Result<std::string> Kek::seal_v1(std::string_view plaintext, std::string_view domain, std::string_view selector) const {
  return seal_with(plaintext, associated_data(domain, selector));
}

Result<std::string> Kek::open_v1(std::string_view sealed, std::string_view domain, std::string_view selector) const {
  return open_with(sealed, associated_data(domain, selector));
}

Result<std::string> Kek::seal_with(std::string_view plaintext, const std::string& aad) const {
  std::string out(kNonceSize + plaintext.size() + kTagSize, '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());
  if (RAND_bytes(bytes, kNonceSize) != 1) return make_error("RAND_bytes failed");
  CipherContext ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  int length = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), bytes) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &length, reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), bytes + kNonceSize, &length,
                        reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), bytes + kNonceSize + length, &length) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize, bytes + kNonceSize + plaintext.size()) != 1) {
    return make_error("AES-256-GCM encryption failed");
  }
  return out;
}

Result<std::string> Kek::open_with(std::string_view sealed, const std::string& aad) const {
  if (sealed.size() < kNonceSize + kTagSize) return make_error("sealed key is truncated");
  const auto* bytes = reinterpret_cast<const unsigned char*>(sealed.data());
  const std::size_t size = sealed.size() - kNonceSize - kTagSize;
  std::string plain(size, '\0');
  std::array<unsigned char, kTagSize> tag{};
  std::copy_n(bytes + kNonceSize + size, kTagSize, tag.begin());
  CipherContext ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  int length = 0;
  const bool ok = ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), bytes) == 1 &&
                  EVP_DecryptUpdate(ctx.get(), nullptr, &length, reinterpret_cast<const unsigned char*>(aad.data()),
                                    static_cast<int>(aad.size())) == 1 &&
                  EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &length,
                                    bytes + kNonceSize, static_cast<int>(size)) == 1 &&
                  EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag.data()) == 1 &&
                  EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()) + length, &length) == 1;
  if (!ok) {
    OPENSSL_cleanse(plain.data(), plain.size());
    return make_error(
        "cannot decrypt: wrong KEK, or the key, its domain/selector or its DNS record/algorithm/bits was altered");
  }
  return plain;
}

}  // namespace dkr::keystore
