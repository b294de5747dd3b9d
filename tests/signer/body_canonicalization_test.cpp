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

std::string streamed(Canon canon, const std::string& body, std::mt19937& rng, std::size_t max_chunk = 40) {
  std::string out;
  struct Sink : dkr::signer::BodyCanonicalizer::Sink {
    std::string* out;
    void write(std::string_view b) override { out->append(b); }
  } sink;
  sink.out = &out;
  dkr::signer::BodyCanonicalizer c(canon, sink);
  std::size_t pos = 0;
  while (pos < body.size()) {
    const std::size_t n = std::uniform_int_distribution<std::size_t>(0, max_chunk)(rng);
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

// The vector rewrite works on 32-byte blocks with two bytes of lookahead, the canonicalizer joins
// short chunks and holds two bytes back, and its output goes out in 64 KiB blocks: whitespace runs
// longer than a block, runs and CRLFs across block and chunk edges, any byte value.
TEST_CASE("relaxed: long runs, any bytes, chunks of any size match the reference") {
  std::mt19937 rng(2026);
  const std::string pieces[] = {" ", "\t", "\r\n", "\r", "\n", "x", "\x01", "\x89", "\xA0", ")", "\x09\x20"};
  for (int iteration = 0; iteration < 600; ++iteration) {
    std::string body;
    const int parts = std::uniform_int_distribution<int>(0, 120)(rng);
    for (int i = 0; i < parts; ++i) {
      const int kind = std::uniform_int_distribution<int>(0, 3)(rng);
      if (kind == 0) {  // a whitespace run of up to three vector widths
        const int length = std::uniform_int_distribution<int>(1, 100)(rng);
        for (int j = 0; j < length; ++j) body += (rng() % 3 == 0) ? '\t' : ' ';
      } else if (kind == 1) {  // clean text
        body.append(std::uniform_int_distribution<std::size_t>(1, 70)(rng), 'w');
      } else {
        body += pieces[std::uniform_int_distribution<std::size_t>(0, std::size(pieces) - 1)(rng)];
      }
    }
    const std::string expected = reference(Canon::Relaxed, body);
    INFO("body: " << body);
    CHECK(canonicalize_body(Canon::Relaxed, body) == expected);
    CHECK(streamed(Canon::Relaxed, body, rng, 40) == expected);
    CHECK(streamed(Canon::Relaxed, body, rng, 200) == expected);
  }
}

TEST_CASE("relaxed: output blocks end inside a CRLF and inside trailing empty lines") {
  // The first 64 KiB output block ends with the CR of a CRLF; what follows is empty lines only,
  // then (second body) more content.
  const std::string line(65535, 'a');
  const std::string empty_tail = line + "\r\n\r\n  \r\n\t\r\n";
  const std::string content_tail = empty_tail + "b \r\n";
  std::mt19937 rng(99);
  for (const std::string* body : {&empty_tail, &content_tail}) {
    const std::string expected = reference(Canon::Relaxed, *body);
    CHECK(canonicalize_body(Canon::Relaxed, *body) == expected);
    CHECK(streamed(Canon::Relaxed, *body, rng, 5000) == expected);
  }
  CHECK(canonicalize_body(Canon::Relaxed, empty_tail) == line + "\r\n");
  // A bare CR at the very end of a block and of the body is content.
  CHECK(canonicalize_body(Canon::Relaxed, line + "\r") == line + "\r\r\n");
}
