// RFC 3492 §6.3 encoding procedure, with the §6.4 overflow checks.
#include <cstdint>
#include <limits>

#include "keystore/domain_name.hpp"

namespace dkr::keystore {
namespace {

constexpr std::uint32_t kBase = 36;
constexpr std::uint32_t kTMin = 1;
constexpr std::uint32_t kTMax = 26;
constexpr std::uint32_t kSkew = 38;
constexpr std::uint32_t kDamp = 700;
constexpr std::uint32_t kInitialBias = 72;
constexpr std::uint32_t kInitialN = 128;

char digit(std::uint32_t d) { return static_cast<char>(d < 26 ? 'a' + d : '0' + (d - 26)); }

std::uint32_t adapt(std::uint32_t delta, std::uint32_t num_points, bool first_time) {
  delta = first_time ? delta / kDamp : delta / 2;
  delta += delta / num_points;
  std::uint32_t k = 0;
  while (delta > ((kBase - kTMin) * kTMax) / 2) {
    delta /= kBase - kTMin;
    k += kBase;
  }
  return k + (((kBase - kTMin + 1) * delta) / (delta + kSkew));
}

int digit_value(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= '0' && c <= '9') return c - '0' + 26;
  return -1;
}

}  // namespace

// RFC 3492 §6.2 decoding procedure, with the §6.4 overflow checks.
Result<std::u32string> punycode_decode(std::string_view input) {
  constexpr std::uint32_t kMax = std::numeric_limits<std::uint32_t>::max();
  std::u32string out;
  const auto delimiter = input.rfind('-');
  std::size_t pos = 0;
  if (delimiter != std::string_view::npos) {
    for (char c : input.substr(0, delimiter)) {
      if (static_cast<unsigned char>(c) >= 0x80)
        return make_error(ErrorCode::invalid, "punycode: non-basic code point");
      out.push_back(static_cast<char32_t>(c));
    }
    pos = delimiter + 1;
  }
  std::uint32_t n = kInitialN;
  std::uint32_t i = 0;
  std::uint32_t bias = kInitialBias;
  while (pos < input.size()) {
    const std::uint32_t old_i = i;
    std::uint32_t w = 1;
    for (std::uint32_t k = kBase;; k += kBase) {
      if (pos >= input.size()) return make_error(ErrorCode::invalid, "punycode: truncated");
      const int d = digit_value(input[pos++]);
      if (d < 0) return make_error(ErrorCode::invalid, "punycode: bad digit");
      const auto value = static_cast<std::uint32_t>(d);
      if (value > (kMax - i) / w) return make_error(ErrorCode::invalid, "punycode: overflow");
      i += value * w;
      const std::uint32_t t = k <= bias ? kTMin : (k >= bias + kTMax ? kTMax : k - bias);
      if (value < t) break;
      if (w > kMax / (kBase - t)) return make_error(ErrorCode::invalid, "punycode: overflow");
      w *= kBase - t;
    }
    const auto points = static_cast<std::uint32_t>(out.size() + 1);
    bias = adapt(i - old_i, points, old_i == 0);
    if (i / points > kMax - n) return make_error(ErrorCode::invalid, "punycode: overflow");
    n += i / points;
    i %= points;
    if (n < 0x80 || n > 0x10FFFF || (n >= 0xD800 && n <= 0xDFFF)) {
      return make_error(ErrorCode::invalid, "punycode: not a code point");
    }
    out.insert(out.begin() + i, static_cast<char32_t>(n));
    ++i;
  }
  return out;
}

Result<std::string> punycode_encode(std::u32string_view input) {
  constexpr std::uint32_t kMax = std::numeric_limits<std::uint32_t>::max();
  std::string out;
  for (char32_t c : input) {
    if (c < 0x80) out.push_back(static_cast<char>(c));
  }
  const auto basic = static_cast<std::uint32_t>(out.size());
  std::uint32_t handled = basic;
  if (basic > 0) out.push_back('-');

  std::uint32_t n = kInitialN;
  std::uint32_t delta = 0;
  std::uint32_t bias = kInitialBias;
  while (handled < input.size()) {
    std::uint32_t m = kMax;
    for (char32_t c : input) {
      if (c >= n && c < m) m = c;
    }
    if (m - n > (kMax - delta) / (handled + 1)) return make_error("punycode overflow");
    delta += (m - n) * (handled + 1);
    n = m;
    for (char32_t c : input) {
      if (c < n) {
        if (delta == kMax) return make_error("punycode overflow");
        ++delta;
      }
      if (c == n) {
        std::uint32_t q = delta;
        for (std::uint32_t k = kBase;; k += kBase) {
          const std::uint32_t t = k <= bias ? kTMin : (k >= bias + kTMax ? kTMax : k - bias);
          if (q < t) break;
          out.push_back(digit(t + (q - t) % (kBase - t)));
          q = (q - t) / (kBase - t);
        }
        out.push_back(digit(q));
        bias = adapt(delta, handled + 1, handled == basic);
        delta = 0;
        ++handled;
      }
    }
    ++delta;
    ++n;
  }
  return out;
}

}  // namespace dkr::keystore
