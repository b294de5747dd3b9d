// Message splitting and RFC 6376 §3.4 canonicalization: structural invariants of split_message,
// both header canons, and both body canons one-shot vs streamed in fuzz-chosen chunks vs an
// independent line-by-line model of the RFC text.
//
// Input: byte 0 = chunk size selector, byte 1 = split seed, the rest = a message (CRLF line ends).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "signer/canonicalization.hpp"
#include "signer/message.hpp"

namespace {

using dkr::fuzz::check;
using dkr::signer::Canon;

class StringSink : public dkr::signer::BodyCanonicalizer::Sink {
 public:
  void write(std::string_view bytes) override { out.append(bytes); }
  std::string out;
};

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// §3.4.3: only empty lines at the end are removed; a body without final CRLF gets one.
std::string model_simple(std::string_view body) {
  while (body.size() >= 2 && body.substr(body.size() - 2) == "\r\n") body.remove_suffix(2);
  std::string out(body);
  out += "\r\n";
  return out;
}

// §3.4.4 (with errata 1384: an empty body stays empty). Lines are CRLF-delimited; a lone CR or LF
// is an ordinary byte of its line.
std::string model_relaxed(std::string_view body) {
  std::vector<std::string> lines;
  std::size_t i = 0;
  while (i < body.size()) {
    std::size_t j = body.find("\r\n", i);
    const bool terminated = j != std::string_view::npos;
    if (!terminated) j = body.size();
    std::string line;
    bool wsp = false;
    for (char c : body.substr(i, j - i)) {
      if (is_wsp(c)) {
        wsp = true;
        continue;
      }
      if (wsp) line += ' ';
      wsp = false;
      line += c;
    }
    lines.push_back(std::move(line));  // trailing whitespace dropped
    i = terminated ? j + 2 : j;
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  std::string out;
  for (const auto& line : lines) out += line + "\r\n";
  return out;
}

void check_body(Canon canon, std::string_view body, std::uint64_t seed, std::size_t max_chunk) {
  const std::string whole = dkr::signer::canonicalize_body(canon, body);
  StringSink sink;
  dkr::signer::BodyCanonicalizer streaming(canon, sink);
  for (std::string_view chunk : dkr::fuzz::random_split(body, seed, max_chunk)) streaming.update(chunk);
  streaming.finish();
  check(sink.out == whole,
        canon == Canon::Simple ? "simple body: streamed differs from one-shot"
                               : "relaxed body: streamed differs from one-shot",
        body);
  check(streaming.bytes_out() == sink.out.size(), "bytes_out() differs from bytes written", body);
  const std::string expected = canon == Canon::Simple ? model_simple(body) : model_relaxed(body);
  check(whole == expected,
        canon == Canon::Simple ? "simple body differs from the RFC 6376 model"
                               : "relaxed body differs from the RFC 6376 model",
        body);
}

void check_header(std::string_view raw) {
  const std::string simple = dkr::signer::canonicalize_header(Canon::Simple, raw);
  check(simple == std::string(raw) + "\r\n", "simple header canonicalization changed the field", raw);

  const std::string relaxed = dkr::signer::canonicalize_header(Canon::Relaxed, raw);
  check(relaxed.size() >= 3 && relaxed.substr(relaxed.size() - 2) == "\r\n", "relaxed header lacks its CRLF", raw);
  const std::string_view field = std::string_view(relaxed).substr(0, relaxed.size() - 2);
  const auto colon = field.find(':');
  check(colon != std::string_view::npos, "relaxed header has no colon", raw);
  for (char c : field.substr(0, colon)) check(!(c >= 'A' && c <= 'Z'), "relaxed header name not lowercased", raw);
  const std::string_view value = field.substr(colon + 1);
  check(value.find('\t') == std::string_view::npos, "relaxed header value keeps a tab", raw);
  check(value.find("  ") == std::string_view::npos, "relaxed header value keeps a space run", raw);
  check(value.empty() || (value.front() != ' ' && value.back() != ' '),
        "relaxed header value keeps whitespace around it", raw);
  if (!dkr::fuzz::has_bare_cr_or_lf(raw)) {
    check(value.find("\r\n") == std::string_view::npos, "relaxed header value not unfolded", raw);
    check(dkr::signer::canonicalize_header(Canon::Relaxed, field) == relaxed,
          "relaxed header canonicalization is not idempotent", raw);
  }
}

bool within(std::string_view inner, std::string_view outer) {
  return inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t max_chunk = dkr::fuzz::max_chunk_for(data[0]);
  const std::uint64_t seed = data[1];
  const std::string_view message(reinterpret_cast<const char*>(data) + 2, size - 2);

  const auto split = dkr::signer::split_message(message);
  const char* cursor = message.data();
  for (const auto& field : split.headers) {
    check(within(field.raw, message), "header field outside the message", message);
    check(field.raw.data() >= cursor, "header fields overlap or are out of order", message);
    cursor = field.raw.data() + field.raw.size();
    check(field.raw.substr(0, field.name.size()) == field.name, "field name is not a prefix of the field", message);
    const std::string_view value = dkr::signer::header_value(field);
    check(within(value, field.raw) || value.empty(), "header_value outside its field", message);
    check(dkr::signer::header_name_equals(field.name, field.name), "header_name_equals not reflexive", message);
    check_header(field.raw);
  }
  check(within(split.body, message) || split.body.empty(), "body outside the message", message);
  check(split.body.empty() || split.body.data() + split.body.size() == message.data() + message.size(),
        "body is not the end of the message", message);
  check(split.body.empty() || split.has_separator, "body without a separating empty line", message);
  if (split.has_separator) {
    const std::size_t body_offset = static_cast<std::size_t>(split.body.data() - message.data());
    if (!split.body.empty()) {
      check(body_offset >= 2 && message.substr(body_offset - 2, 2) == "\r\n", "body does not follow a CRLF", message);
    }
    // The header section alone must parse into the same fields.
    const auto fields =
        dkr::signer::parse_header_fields(message.substr(0, split.body.empty() ? message.size() : body_offset));
    check(fields.size() == split.headers.size(), "parse_header_fields disagrees with split_message on field count",
          message);
    for (std::size_t i = 0; i < fields.size(); ++i) {
      check(fields[i].raw == split.headers[i].raw, "parse_header_fields disagrees with split_message", message);
    }
  }

  check_header(message.substr(0, 2000));
  check_body(Canon::Simple, split.body, seed, max_chunk);
  check_body(Canon::Relaxed, split.body, seed, max_chunk);
  check_body(Canon::Simple, message, seed, max_chunk);
  check_body(Canon::Relaxed, message, seed, max_chunk);

  const std::string crlf = dkr::signer::lf_to_crlf(message);
  for (std::size_t i = 0; i < crlf.size(); ++i) {
    if (crlf[i] == '\n') check(i > 0 && crlf[i - 1] == '\r', "lf_to_crlf left a lone LF", message);
  }
  return 0;
}
