// Streaming body canonicalization against a line-based reference written from RFC 6376 §3.4.3/3.4.4.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "signer/canonicalization.hpp"

using dkr::signer::Canon;
using dkr::signer::canonicalize_body;

namespace {

// Reference: split into CRLF-terminated lines (a final unterminated line counts as a line), rewrite
// each line, then drop trailing empty lines. Deliberately simple and slow.
std::string reference(Canon canon, const std::string& body) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < body.size()) {
    const auto eol = body.find("\r\n", pos);
    if (eol == std::string::npos) {
      lines.push_back(body.substr(pos));
      break;
    }
    lines.push_back(body.substr(pos, eol - pos));
    pos = eol + 2;
  }
  if (canon == Canon::Relaxed) {
    for (auto& line : lines) {
      std::string out;
      bool ws = false;
      for (char c : line) {
        if (c == ' ' || c == '\t') {
          ws = true;
          continue;
        }
        if (ws) out += ' ';
        ws = false;
        out += c;
      }
      line = out;  // whitespace at the end of the line is dropped
    }
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  std::string out;
  for (const auto& line : lines) out += line + "\r\n";
  if (out.empty() && canon == Canon::Simple) out = "\r\n";
  return out;
}

std::string streamed(Canon canon, const std::string& body, std::mt19937& rng) {
  std::string out;
  struct Sink : dkr::signer::BodyCanonicalizer::Sink {
    std::string* out;
    void write(std::string_view b) override { out->append(b); }
  } sink;
  sink.out = &out;
  dkr::signer::BodyCanonicalizer c(canon, sink);
  std::size_t pos = 0;
  while (pos < body.size()) {
    const std::size_t n = std::uniform_int_distribution<std::size_t>(0, 40)(rng);
    c.update(std::string_view(body).substr(pos, n));
    pos += n;
  }
  c.finish();
  return out;
}

}  // namespace

TEST_CASE("simple body: RFC 6376 rules") {
  CHECK(canonicalize_body(Canon::Simple, "") == "\r\n");
  CHECK(canonicalize_body(Canon::Simple, "\r\n\r\n\r\n") == "\r\n");
  CHECK(canonicalize_body(Canon::Simple, "abc") == "abc\r\n");
  CHECK(canonicalize_body(Canon::Simple, "abc\r\n\r\n") == "abc\r\n");
  CHECK(canonicalize_body(Canon::Simple, " C \r\nD \t E\r\n\r\n\r\n") == " C \r\nD \t E\r\n");
}

TEST_CASE("relaxed body: RFC 6376 rules") {
  CHECK(canonicalize_body(Canon::Relaxed, "") == "");
  CHECK(canonicalize_body(Canon::Relaxed, "\r\n \r\n\t\r\n") == "");
  CHECK(canonicalize_body(Canon::Relaxed, "abc") == "abc\r\n");
  CHECK(canonicalize_body(Canon::Relaxed, "abc  \t") == "abc\r\n");
  CHECK(canonicalize_body(Canon::Relaxed, " C \r\nD \t E\r\n\r\n\r\n") == " C\r\nD E\r\n");
  CHECK(canonicalize_body(Canon::Relaxed, "a\r\n\r\n \r\nb\r\n") == "a\r\n\r\n\r\nb\r\n");
}

TEST_CASE("streaming equals one-shot and the reference for any chunking") {
  std::mt19937 rng(12345);
  const std::string alphabet[] = {"a", "b", " ", "\t", "\r\n", "\r\n", "\r", "\n", ".", "  ", "xyzxyzxyzxyzxyzxyz"};
  for (int iteration = 0; iteration < 4000; ++iteration) {
    std::string body;
    const int parts = std::uniform_int_distribution<int>(0, 60)(rng);
    for (int i = 0; i < parts; ++i) body += alphabet[std::uniform_int_distribution<int>(0, 10)(rng)];
    for (Canon canon : {Canon::Simple, Canon::Relaxed}) {
      // Bare CR and LF are ordinary bytes to both: they only matter as part of a CRLF.
      const std::string one_shot = canonicalize_body(canon, body);
      CHECK(streamed(canon, body, rng) == one_shot);
      {
        INFO("body: " << body);
        CHECK(one_shot == reference(canon, body));
      }
    }
  }
}

TEST_CASE("long clean lines take the fast path and still match the reference") {
  std::string body;
  for (int i = 0; i < 2000; ++i)
    body += "The quick brown fox jumps over the lazy dog, line " + std::to_string(i) + ".\r\n";
  body += "\r\n\r\n";
  std::mt19937 rng(7);
  for (Canon canon : {Canon::Simple, Canon::Relaxed}) {
    CHECK(canonicalize_body(canon, body) == reference(canon, body));
    CHECK(streamed(canon, body, rng) == reference(canon, body));
  }
}
