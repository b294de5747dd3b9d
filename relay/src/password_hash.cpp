#include "relay/password_hash.hpp"

#include <charconv>
#include <optional>
#include <vector>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

namespace dkr::relay {

namespace {

constexpr std::string_view kPrefix = "$pbkdf2-sha256$";
// Bounds keep a hostile or mistyped config from making each AUTH take minutes or allocate much.
constexpr std::uint32_t kMaxIterations = 10'000'000;
constexpr std::size_t kMaxKeyLength = 256;

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '.') return 62;
  if (c == '/') return 63;
  return -1;
}

std::optional<std::string> decode_base64(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = base64_value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  if (bits >= 6) return std::nullopt;  // a single dangling character cannot encode a byte
  return out;
}

std::string encode_base64(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 0x3F]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3F]);
  return out;
}

bool derive(std::string_view password, const PasswordHash& params, std::string& out) {
  out.assign(params.hash.size(), '\0');
  return PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                           reinterpret_cast<const unsigned char*>(params.salt.data()),
                           static_cast<int>(params.salt.size()), static_cast<int>(params.iterations), EVP_sha256(),
                           static_cast<int>(out.size()), reinterpret_cast<unsigned char*>(out.data())) == 1;
}

}  // namespace

Result<PasswordHash> parse_password_hash(std::string_view text) {
  if (!text.starts_with(kPrefix)) return make_error("password hash must start with $pbkdf2-sha256$");
  text.remove_prefix(kPrefix.size());
  std::vector<std::string_view> parts;
  while (true) {
    auto pos = text.find('$');
    parts.push_back(text.substr(0, pos));
    if (pos == std::string_view::npos) break;
    text.remove_prefix(pos + 1);
  }
  if (parts.size() != 3) return make_error("password hash must be $pbkdf2-sha256$<iterations>$<salt>$<hash>");
  PasswordHash result;
  auto [end, ec] = std::from_chars(parts[0].data(), parts[0].data() + parts[0].size(), result.iterations);
  if (ec != std::errc{} || end != parts[0].data() + parts[0].size() || result.iterations == 0 ||
      result.iterations > kMaxIterations) {
    return make_error("password hash has an invalid iteration count");
  }
  auto salt = decode_base64(parts[1]);
  auto hash = decode_base64(parts[2]);
  if (!salt || !hash || salt->empty() || hash->size() < 16 || hash->size() > kMaxKeyLength) {
    return make_error("password hash has invalid base64 salt or hash");
  }
  result.salt = std::move(*salt);
  result.hash = std::move(*hash);
  return result;
}

bool verify_password(std::string_view password, std::string_view encoded_hash) {
  auto parsed = parse_password_hash(encoded_hash);
  if (!parsed) return false;
  std::string derived;
  if (!derive(password, *parsed, derived)) return false;
  bool equal = CRYPTO_memcmp(derived.data(), parsed->hash.data(), derived.size()) == 0;
  OPENSSL_cleanse(derived.data(), derived.size());
  return equal;
}

std::string make_password_hash(std::string_view password, std::uint32_t iterations) {
  PasswordHash params;
  params.iterations = iterations;
  params.salt.assign(16, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(params.salt.data()), 16);
  params.hash.assign(32, '\0');
  std::string derived;
  derive(password, params, derived);
  return std::string(kPrefix) + std::to_string(iterations) + "$" + encode_base64(params.salt) + "$" +
         encode_base64(derived);
}

}  // namespace dkr::relay
