// The DATA reader against an independent model of RFC 5321 §4.1.1.4 / §4.5.2 and of the reader's
// own contract (data_reader.hpp), fed once in one piece and once in fuzz-chosen chunks.
//
// Input: byte 0 = limits and chunk size, byte 1 = split seed, the rest = bytes sent after DATA.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "relay/data_reader.hpp"

namespace {

using dkr::fuzz::check;
using dkr::relay::DataError;
using dkr::relay::DataLimits;
using dkr::relay::DataReader;

class StringSink : public dkr::relay::DataSink {
 public:
  void write(std::string_view bytes) override { out.append(bytes); }
  std::string out;
};

struct Outcome {
  std::size_t consumed = 0;
  bool done = false;
  DataError error = DataError::None;
  std::uint64_t size = 0;
  std::string out;
};

Outcome run(const DataLimits& limits, const std::vector<std::string_view>& chunks) {
  DataReader reader(limits);
  StringSink sink;
  Outcome o;
  for (std::string_view chunk : chunks) {
    if (reader.done()) break;
    const std::size_t n = reader.feed(chunk, sink);
    check(n <= chunk.size(), "feed() consumed more than it was given");
    check(n == chunk.size() || reader.done(), "feed() stopped early without finding the end marker");
    o.consumed += n;
  }
  o.done = reader.done();
  o.error = reader.error();
  o.size = reader.size();
  o.out = std::move(sink.out);
  return o;
}

// What an RFC-following reader must produce, written without the reader's state machine.
struct Expected {
  std::optional<std::size_t> end;  // bytes up to and including the end marker
  bool accepted = false;           // meaningful only with `end`
  std::string out;
};

Expected model(const DataLimits& limits, std::string_view in) {
  Expected e;
  // CR LF "." CR LF ends DATA; the stream starts at the beginning of a line (after "DATA" CRLF
  // and the 354). A CR followed by LF always pairs, so the first such marker is the end.
  if (in.substr(0, 3) == ".\r\n") {
    e.end = 3;
  } else if (auto pos = in.find("\r\n.\r\n"); pos != std::string_view::npos) {
    e.end = pos + 5;
  }
  if (!e.end) return e;
  const std::string_view content = in.substr(0, *e.end - 3);
  bool ok = true;
  bool previous_bare = false;
  std::size_t i = 0;
  while (i < content.size()) {
    std::size_t j = i;
    while (j < content.size() && content[j] != '\r' && content[j] != '\n') ++j;
    // j < size: content always ends with a line end (CRLF before the final ".")
    std::size_t ending = 1;
    bool bare = true;
    if (content[j] == '\r' && j + 1 < content.size() && content[j + 1] == '\n') {
      ending = 2;
      bare = false;
    }
    std::string_view line = content.substr(i, j - i);
    const std::size_t raw_length = line.size() + ending;
    if (raw_length > limits.max_line) ok = false;
    if (bare && !limits.normalize_bare_line_endings) ok = false;
    if (line == "." && (bare || previous_bare)) ok = false;     // smuggled end marker
    if (line.find('\0') != std::string_view::npos) ok = false;  // NUL: no BINARYMIME here
    if (!line.empty() && line.front() == '.') line.remove_prefix(1);
    e.out.append(line);
    e.out.append("\r\n");
    previous_bare = bare;
    i = j + ending;
  }
  if (e.out.size() > limits.max_size) ok = false;
  e.accepted = ok;
  return e;
}

std::string dot_stuff(std::string_view body) {
  std::string out;
  bool line_start = true;
  for (char c : body) {
    if (line_start && c == '.') out += '.';
    out += c;
    line_start = c == '\n';
  }
  out += ".\r\n";
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const unsigned char flags = data[0];
  const std::uint64_t seed = data[1];
  const std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);

  static constexpr std::uint32_t kLines[] = {1000, 3, 20, 78};
  static constexpr std::uint64_t kSizes[] = {UINT64_MAX, 0, 50, 500};
  DataLimits limits;
  limits.normalize_bare_line_endings = (flags & 1) != 0;
  limits.max_line = kLines[(flags >> 1) & 3];
  limits.max_size = kSizes[(flags >> 3) & 3];
  const std::size_t max_chunk = dkr::fuzz::max_chunk_for(static_cast<unsigned char>(flags >> 5));

  const Outcome whole = run(limits, {in});
  const Outcome pieces = run(limits, dkr::fuzz::random_split(in, seed, max_chunk));
  const Expected expected = model(limits, in);

  // Where DATA ends does not depend on limits, errors or chunking.
  check(whole.done == expected.end.has_value(), "end marker found/missed unlike RFC 5321", in);
  check(whole.consumed == expected.end.value_or(in.size()), "consumed count differs from the end marker position", in);
  check(pieces.done == whole.done, "chunked feed: done differs from one-shot", in);
  check(pieces.consumed == whole.consumed, "chunked feed: consumed differs from one-shot", in);
  // The reply code must not depend on TCP segmentation (fuzz bug A: a run crossing both the line
  // and the size limit used to report whichever limit was checked first, not crossed first).
  check(pieces.error == whole.error, "chunked feed: error differs from one-shot", in);

  if (whole.done) {
    check((whole.error == DataError::None) == expected.accepted,
          expected.accepted ? "message refused that RFC 5321 and the limits allow"
                            : "message accepted despite a bare line ending, smuggled end, NUL, or limit",
          in);
  }
  if (whole.error == DataError::None) {
    check(pieces.out == whole.out, "chunked feed: output differs from one-shot", in);
    check(pieces.size == whole.size, "chunked feed: size() differs from one-shot", in);
    check(whole.size == whole.out.size(), "size() differs from the bytes emitted", in);
    if (whole.done) {
      check(whole.out == expected.out, "unstuffed output differs from the model", in);
      // Accepted output goes upstream as CRLF text: a lone CR or LF there is smuggling material.
      check(!dkr::fuzz::has_bare_cr_or_lf(whole.out), "accepted output contains a bare CR or LF", whole.out);
      // Re-stuffed, the output must read back as the same message, ending exactly at the marker we
      // add: a "." line inside it would have ended DATA early downstream.
      const std::string restuffed = dot_stuff(whole.out);
      DataLimits unlimited;
      const Outcome again = run(unlimited, {restuffed});
      check(again.done && again.consumed == restuffed.size() && again.error == DataError::None,
            "re-stuffed output does not end exactly at its end marker", whole.out);
      check(again.out == whole.out, "re-stuffed output does not read back unchanged", whole.out);
    }
  }
  return 0;
}
