#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "relay/data_reader.hpp"

using namespace dkr::relay;

namespace {

struct StringSink : DataSink {
  std::string data;
  void write(std::string_view bytes) override { data.append(bytes); }
};

struct Outcome {
  bool done = false;
  std::size_t consumed = 0;
  DataError error = DataError::None;
  std::string output;
  bool dot_line = false;
};

Outcome run_chunks(std::string_view input, const std::vector<std::size_t>& cuts, DataLimits limits) {
  DataReader reader(limits);
  StringSink sink;
  Outcome outcome;
  std::size_t pos = 0;
  auto feed = [&](std::size_t end) {
    while (pos < end && !reader.done()) {
      auto n = reader.feed(input.substr(pos, end - pos), sink);
      pos += n;
      if (!reader.done()) REQUIRE(pos == end);  // everything is consumed until the end marker
    }
  };
  for (auto cut : cuts) feed(cut);
  feed(input.size());
  outcome.done = reader.done();
  outcome.consumed = pos;
  outcome.error = reader.error();
  outcome.output = sink.data;
  outcome.dot_line = reader.content_has_dot_line();
  return outcome;
}

Outcome run(std::string_view input, DataLimits limits = {}) { return run_chunks(input, {}, limits); }

// An independent whole-input model of RFC 5321 §4.1.1.4/§4.5.2 with the smuggling rules: the
// message ends at the first CRLF "." CRLF (the DATA command's CRLF counts as the first CRLF);
// within the content, lines end at CRLF, lone CR or lone LF.
struct Reference {
  bool done = false;
  std::size_t consumed = 0;
  bool error = false;  // any error at all
  std::string output;  // valid when !error
};

Reference reference(std::string_view input, DataLimits limits) {
  Reference ref;
  std::string virt = "\r\n" + std::string(input);
  auto p = virt.find("\r\n.\r\n");
  if (p == std::string::npos) return ref;  // compared only when the end is found
  ref.done = true;
  ref.consumed = p + 3;
  std::string content(input.substr(0, p));  // ends with CRLF unless empty
  std::uint64_t size = 0;
  std::size_t i = 0;
  while (i < content.size()) {
    std::size_t j = i;
    while (content[j] != '\r' && content[j] != '\n') ++j;
    std::string line = content.substr(i, j - i);
    bool crlf = content[j] == '\r' && j + 1 < content.size() && content[j + 1] == '\n';
    std::size_t term = crlf ? 2 : 1;
    if (!crlf && !limits.normalize_bare_line_endings) ref.error = true;
    if (line == ".") ref.error = true;  // any "." line before the real end touches a lone CR/LF
    if (line.size() + term > limits.max_line) ref.error = true;
    std::string piece = ((!line.empty() && line[0] == '.') ? line.substr(1) : line) + "\r\n";
    size += piece.size();
    ref.output += piece;
    i = j + term;
  }
  if (size > limits.max_size) ref.error = true;
  return ref;
}

}  // namespace

TEST_CASE("the end marker ends DATA and the rest is left for the next commands") {
  auto out = run("Subject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n");
  CHECK(out.done);
  CHECK(out.error == DataError::None);
  CHECK(out.output == "Subject: hi\r\n\r\nbody\r\n");
  CHECK(out.consumed == std::string("Subject: hi\r\n\r\nbody\r\n.\r\n").size());
}

TEST_CASE("an empty message is just the end marker") {
  auto out = run(".\r\n");
  CHECK(out.done);
  CHECK(out.output.empty());
  CHECK(out.consumed == 3);
}

TEST_CASE("dot-unstuffing removes exactly one leading dot") {
  auto out = run("..\r\n...x\r\n. a\r\nb.\r\n.\r\n");
  CHECK(out.done);
  CHECK(out.output == ".\r\n..x\r\n a\r\nb.\r\n");
}

TEST_CASE("smuggling sequences never end DATA and are errors in both modes") {
  for (bool normalize : {false, true}) {
    CAPTURE(normalize);
    DataLimits limits;
    limits.normalize_bare_line_endings = normalize;
    for (std::string_view fake : {"\n.\n", "\n.\r\n", "\r\n.\n", "\r.\r", "\r.\r\n", "\r\n.\r", "\n.\r"}) {
      CAPTURE(fake);
      std::string input = "Subject: x\r\n\r\nbody" + std::string(fake) + "MAIL FROM:<evil@x>\r\n";
      auto out = run(input, limits);
      CHECK_FALSE(out.done);
      CHECK(out.consumed == input.size());
      input += "tail\r\n.\r\n";
      out = run(input, limits);
      CHECK(out.done);
      CHECK(out.consumed == input.size());
      CHECK(out.error == DataError::SmuggledEnd);
    }
  }
}

TEST_CASE("bare CR or LF is refused in reject mode and becomes CRLF in normalize mode") {
  auto out = run("a\nb\rc\r\n.\r\n");
  CHECK(out.done);
  CHECK(out.error == DataError::BareLineEnding);
  CHECK(out.output.empty());
  DataLimits normalize;
  normalize.normalize_bare_line_endings = true;
  out = run("a\nb\rc\r\n.\r\n", normalize);
  CHECK(out.done);
  CHECK(out.error == DataError::None);
  CHECK(out.output == "a\r\nb\r\nc\r\n");
  out = run("a\r\r\n.\r\n", normalize);
  CHECK(out.done);
  CHECK(out.output == "a\r\n\r\n");
}

TEST_CASE("line length counts the CRLF and stuffing dots") {
  DataLimits limits;
  limits.max_line = 10;
  auto out = run(std::string(8, 'x') + "\r\n.\r\n", limits);
  CHECK(out.error == DataError::None);
  out = run(std::string(9, 'x') + "\r\n.\r\n", limits);
  CHECK(out.done);
  CHECK(out.error == DataError::LineTooLong);
  out = run("." + std::string(8, 'x') + "\r\n.\r\n", limits);
  CHECK(out.error == DataError::LineTooLong);
  // The limit is enforced without waiting for the line end.
  DataReader reader(limits);
  StringSink sink;
  reader.feed(std::string(100, 'y'), sink);
  CHECK(reader.error() == DataError::LineTooLong);
  CHECK(sink.data.empty());
}

TEST_CASE("size limit: nothing is emitted past it, reading goes on to the end marker") {
  DataLimits limits;
  limits.max_size = 10;
  auto out = run("12345678\r\n.\r\n", limits);
  CHECK(out.error == DataError::None);
  CHECK(out.output.size() == 10);
  DataReader reader(limits);
  StringSink sink;
  std::string line = "123456789\r\n";
  for (int i = 0; i < 1000; ++i) CHECK(reader.feed(line, sink) == line.size());
  CHECK(reader.error() == DataError::TooBig);
  CHECK(sink.data.size() <= 10);
  CHECK_FALSE(reader.done());
  CHECK(reader.feed(".\r\nQUIT\r\n", sink) == 3);
  CHECK(reader.done());
}

TEST_CASE("a run crossing both limits reports the one crossed first, however it is chunked") {
  // Fuzz bug A: in one chunk the line limit was checked before the size limit for a whole run of
  // bytes, so the reply depended on TCP segmentation. Expected codes are worked out by hand from
  // the byte at which each limit is first exceeded.
  struct Case {
    std::string why;
    std::uint64_t max_size;
    std::uint32_t max_line;
    std::string input;
    DataError expected;
  };
  const std::vector<Case> cases = {
      // "12345678\r\n" fills the size limit exactly; the next line's first byte is over it, its
      // 21st byte over the line limit.
      {"size first", 10, 20, "12345678\r\n" + std::string(30, 'x') + "\r\n.\r\n", DataError::TooBig},
      // 6th byte over the line limit, 13th over the size limit.
      {"line first", 12, 5, std::string(30, 'x') + "\r\n.\r\n", DataError::LineTooLong},
      // Both at the 6th byte: one byte at a time the line limit is checked first.
      {"same byte", 5, 5, std::string(30, 'x') + "\r\n.\r\n", DataError::LineTooLong},
  };
  for (const auto& c : cases) {
    CAPTURE(c.why);
    DataLimits limits;
    limits.max_size = c.max_size;
    limits.max_line = c.max_line;
    auto whole = run(c.input, limits);
    CHECK(whole.done);
    CHECK(whole.error == c.expected);
    std::vector<std::size_t> every_byte;
    for (std::size_t cut = 1; cut < c.input.size(); ++cut) every_byte.push_back(cut);
    CHECK(run_chunks(c.input, every_byte, limits).error == c.expected);
    for (std::size_t cut = 0; cut <= c.input.size(); ++cut) {
      CAPTURE(cut);
      CHECK(run_chunks(c.input, {cut}, limits).error == c.expected);
    }
  }
}

TEST_CASE("a NUL byte in the header section or the body is refused, however it is chunked") {
  using namespace std::string_literals;
  const std::vector<std::string> inputs = {
      "From: a@example.com\r\nSubject: x\0y\r\n\r\nbody\r\n.\r\n"s, "From: a@example.com\r\n\r\nbody\0\r\n.\r\n"s,
      "From: a@example.com\r\n\r\n.\0\r\n.\r\n"s,  // after a stuffing dot
  };
  for (const auto& input : inputs) {
    CAPTURE(input);
    auto whole = run(input);
    CHECK(whole.done);
    CHECK(whole.consumed == input.size());  // read on to the end marker: the session stays in sync
    CHECK(whole.error == DataError::NulByte);
    for (std::size_t cut = 0; cut <= input.size(); ++cut)
      CHECK(run_chunks(input, {cut}, {}).error == DataError::NulByte);
  }
  CHECK(run("no nul here\r\n.\r\n").error == DataError::None);
  // Limits crossed before the NUL still decide, as one byte at a time.
  DataLimits short_lines;
  short_lines.max_line = 5;
  CHECK(run("abcdefgh\0\r\n.\r\n"s, short_lines).error == DataError::LineTooLong);
  CHECK(run("ab\0defgh\r\n.\r\n"s, short_lines).error == DataError::NulByte);
}

TEST_CASE("split-anywhere: every two-way split of tricky inputs gives the one-chunk result") {
  const std::vector<std::string> inputs = {
      "a\r\n..b\r\n.\r\nNEXT", "x\r\n.\n.\r\n\r\n.\r\n", "\r\r\n.\r\n", ".\r\n",
      "..\r\n.x\r\n\r\n.\r\n", "a\rb\n.\r\n.\r\n",       "abc\r\n.\r",
  };
  for (bool normalize : {false, true}) {
    DataLimits limits;
    limits.normalize_bare_line_endings = normalize;
    for (const auto& input : inputs) {
      auto whole = run(input, limits);
      for (std::size_t cut = 0; cut <= input.size(); ++cut) {
        CAPTURE(input);
        CAPTURE(cut);
        auto split = run_chunks(input, {cut}, limits);
        CHECK(split.done == whole.done);
        CHECK(split.consumed == whole.consumed);
        CHECK(split.error == whole.error);
        if (whole.error == DataError::None) CHECK(split.output == whole.output);
      }
    }
  }
}

TEST_CASE("property: random inputs in random chunks agree with the reference model") {
  std::mt19937 rng(12345);
  const std::string alphabet = "ab.\r\n\r\n..";
  int clean = 0, refused = 0, unfinished = 0;
  for (int round = 0; round < 4000; ++round) {
    DataLimits limits;
    limits.normalize_bare_line_endings = round % 2 == 1;
    limits.max_line = 4 + rng() % 12;
    limits.max_size = round % 3 == 0 ? 20 + rng() % 40 : UINT64_MAX;
    std::string input;
    std::size_t length = rng() % 40;
    for (std::size_t i = 0; i < length; ++i) input += alphabet[rng() % alphabet.size()];
    if (round % 4 != 3) input += "\r\n.\r\nRSET\r\n";
    std::vector<std::size_t> cuts;
    std::size_t cut_count = rng() % 6;
    for (std::size_t i = 0; i < cut_count; ++i) cuts.push_back(rng() % (input.size() + 1));
    std::sort(cuts.begin(), cuts.end());

    CAPTURE(input);
    CAPTURE(limits.max_line);
    CAPTURE(limits.max_size);
    CAPTURE(limits.normalize_bare_line_endings);
    auto ref = reference(input, limits);
    auto out = run_chunks(input, cuts, limits);
    REQUIRE(out.done == ref.done);
    if (ref.done) REQUIRE(out.consumed == ref.consumed);
    if (ref.done) {
      REQUIRE((out.error != DataError::None) == ref.error);
      if (!ref.error) REQUIRE(out.output == ref.output);
      ++(ref.error ? refused : clean);
    } else {
      ++unfinished;
    }
  }
  // The generator must exercise every outcome, or the comparison above proves little.
  CHECK(clean > 300);
  CHECK(refused > 300);
  CHECK(unfinished > 300);
}

TEST_CASE("property: long lines (scanned many bytes at a time) agree with the reference model") {
  // The short random inputs above hardly reach the vector scan, which takes 16 or 32 bytes at once:
  // lines of up to ~170 bytes with a CR, LF, stuffing dot or end-marker look-alike now and then.
  std::mt19937 rng(2026);
  int clean = 0, refused = 0, dot_lines = 0;
  for (int round = 0; round < 2000; ++round) {
    DataLimits limits;
    limits.normalize_bare_line_endings = round % 2 == 1;
    limits.max_line = 60 + rng() % 140;
    limits.max_size = round % 3 == 0 ? 200 + rng() % 800 : UINT64_MAX;
    std::string input;
    const std::size_t lines = rng() % 10;
    for (std::size_t l = 0; l < lines; ++l) {
      if (rng() % 6 == 0) input += rng() % 2 ? ".." : ".";
      input.append(rng() % 120, static_cast<char>('a' + rng() % 26));
      switch (rng() % 12) {
        case 0:
          input += '\r';
          break;
        case 1:
          input += '\n';
          break;
        case 2:
          input += "\r\n.\n";
          break;
        default:
          break;
      }
      input.append(rng() % 50, ' ');
      input += "x\r\n";
    }
    input += ".\r\nRSET\r\n";
    std::vector<std::size_t> cuts;
    for (std::size_t i = 0, count = rng() % 5; i < count; ++i) cuts.push_back(rng() % (input.size() + 1));
    std::sort(cuts.begin(), cuts.end());

    CAPTURE(input);
    CAPTURE(limits.max_line);
    CAPTURE(limits.max_size);
    CAPTURE(limits.normalize_bare_line_endings);
    auto ref = reference(input, limits);
    auto out = run_chunks(input, cuts, limits);
    REQUIRE(ref.done);
    REQUIRE(out.done);
    REQUIRE(out.consumed == ref.consumed);
    REQUIRE((out.error != DataError::None) == ref.error);
    if (ref.error) {
      ++refused;
      continue;
    }
    REQUIRE(out.output == ref.output);
    // Upstream DATA skips its dot-stuffing scan on this answer: it must be exact.
    const bool expected_dot_line = ref.output.starts_with(".") || ref.output.find("\r\n.") != std::string::npos;
    REQUIRE(out.dot_line == expected_dot_line);
    ++clean;
    if (expected_dot_line) ++dot_lines;
  }
  CHECK(clean > 300);
  CHECK(refused > 300);
  CHECK(dot_lines > 100);
}

TEST_CASE("dot lines are reported: only a line that keeps a leading dot after unstuffing counts") {
  CHECK_FALSE(run("a\r\n.b\r\n.\r\n").dot_line);  // ".b" is unstuffed to "b"
  CHECK(run("a\r\n..b\r\n.\r\n").dot_line);
  CHECK(run("..\r\n.\r\n").dot_line);
  CHECK_FALSE(run("a.\r\nb . c\r\n.\r\n").dot_line);
  DataLimits normalize;
  normalize.normalize_bare_line_endings = true;
  CHECK(run("a\n..b\r\n.\r\n", normalize).dot_line);
}
