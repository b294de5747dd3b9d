#pragma once
// Base64 (RFC 4648 §4, padded), the one encoder of the project: DKIM b=/bh=/p=, sealed keys in key
// bundles, upstream AUTH, the password hash format (which drops the padding). The decoders stay with
// their formats on purpose: DKIM tag values allow folding whitespace inside (signer), a key bundle
// takes nothing but canonical base64 (keystore), the password format has no padding (here, beside it).
#include <cstddef>
#include <string>
#include <string_view>

namespace dkr {

inline std::string base64_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const unsigned v = (p[i] << 16) | (p[i + 1] << 8) | p[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 0) return out;
  const unsigned v = (p[i] << 16) | (rest == 2 ? p[i + 1] << 8 : 0);
  out += kAlphabet[(v >> 18) & 63];
  out += kAlphabet[(v >> 12) & 63];
  out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
  out += '=';
  return out;
}

}  // namespace dkr
