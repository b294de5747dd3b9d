#include "relay/data_reader.hpp"

#include <algorithm>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace dkr::relay {

namespace {

constexpr std::string_view kCrlf = "\r\n";

inline bool special(char c) { return c == '\r' || c == '\n' || c == '\0'; }

const char* find_special_scalar(const char* p, const char* end) {
  while (p < end && !special(*p)) ++p;
  return p;
}

#if defined(__x86_64__)

// The first CR, LF or NUL in [p, end): the only bytes inside a line that the reader must look at.
// One pass over the run instead of one search per byte value; 16 or 32 bytes per step.
const char* find_special_sse2(const char* p, const char* end) {
  const __m128i cr = _mm_set1_epi8('\r');
  const __m128i lf = _mm_set1_epi8('\n');
  const __m128i zero = _mm_setzero_si128();
  for (; end - p >= 16; p += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i hit =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf)), _mm_cmpeq_epi8(v, zero));
    if (const int mask = _mm_movemask_epi8(hit); mask != 0) return p + __builtin_ctz(static_cast<unsigned>(mask));
  }
  return find_special_scalar(p, end);
}

__attribute__((target("avx2"))) const char* find_special_avx2(const char* p, const char* end) {
  const __m256i cr = _mm256_set1_epi8('\r');
  const __m256i lf = _mm256_set1_epi8('\n');
  const __m256i zero = _mm256_setzero_si256();
  for (; end - p >= 32; p += 32) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const __m256i hit = _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(v, cr), _mm256_cmpeq_epi8(v, lf)),
                                        _mm256_cmpeq_epi8(v, zero));
    if (const unsigned mask = static_cast<unsigned>(_mm256_movemask_epi8(hit)); mask != 0)
      return p + __builtin_ctz(mask);
  }
  return find_special_sse2(p, end);
}

using FindSpecial = const char* (*)(const char*, const char*);

FindSpecial best_find_special() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") ? find_special_avx2 : find_special_sse2;
}

const char* find_special(const char* p, const char* end) {
  static const FindSpecial find = best_find_special();
  return find(p, end);
}

#else

const char* find_special(const char* p, const char* end) { return find_special_scalar(p, end); }

#endif

}  // namespace

void DataReader::fail(DataError error) {
  // The first error decides the reply, except that a smuggling attempt is always reported as such.
  if (error_ == DataError::None || error == DataError::SmuggledEnd) error_ = error;
  pieces_.clear();
}

// Output of one feed() call: views into its input (or static text), joined where they touch, and
// handed to the sink only at the end of the call, so that an error drops all of it, as before.
inline void DataReader::emit(std::string_view bytes) {
  if (!pieces_.empty() && pieces_.back().data() + pieces_.back().size() == bytes.data()) {
    pieces_.back() = std::string_view(pieces_.back().data(), pieces_.back().size() + bytes.size());
  } else {
    pieces_.push_back(bytes);
  }
}

// Many short pieces (a dot-stuffed line each, when every line starts with '.') are joined into one
// before they go to the sink: each write costs the spool and the signer far more per call (the
// relaxed rewrite's vector loop, SHA-256 in long spans) than copying a short piece does.
void DataReader::deliver(DataSink& sink) {
  constexpr std::size_t kJoinAverageBelow = 4096;
  std::size_t total = 0;
  for (std::string_view piece : pieces_) total += piece.size();
  if (pieces_.size() > 2 && total < pieces_.size() * kJoinAverageBelow) {
    joined_.clear();
    joined_.reserve(total);
    for (std::string_view piece : pieces_) joined_.append(piece);
    sink.write(joined_);
  } else {
    for (std::string_view piece : pieces_) sink.write(piece);
  }
  pieces_.clear();
}

// A line ended by CRLF (crlf: those two bytes, or the same text) or by a lone CR or LF.
void DataReader::end_line(bool bare, std::string_view crlf) {
  if (bare) {
    if (dot_first_ && !line_has_content_) {
      fail(DataError::SmuggledEnd);
    } else if (!limits_.normalize_bare_line_endings) {
      fail(DataError::BareLineEnding);
    }
  }
  if (error_ == DataError::None) {
    // As two single bytes would: the second one over the limit is TooBig, and nothing goes out.
    const std::uint64_t room = limits_.max_size - size_;
    if (room >= 2) {
      size_ += 2;
      emit(crlf);
    } else {
      size_ += room + 1;  // put(CR) then put(LF): counted up to the first byte too many
      fail(DataError::TooBig);
    }
  }
  previous_line_bare_ = bare;
  line_length_ = 0;
  dot_first_ = false;
  line_has_content_ = false;
}

// Whole lines from data[i] on that need nothing but passing on, a line at a time: ended by CRLF, no
// lone CR or LF and no NUL inside, within both limits, and either not starting with '.' or
// dot-stuffed ('.' then a byte that is not CR, LF or NUL: the dot is dropped). That is what the
// byte-at-a-time path in feed() does for such lines; it stops at the first line that needs more (the
// end marker, a lone CR or LF, a limit crossed) or is not complete in the input, and leaves it to feed().
std::size_t DataReader::pass_whole_lines(const char* data, std::size_t i, std::size_t n) {
  const char* p = data + i;
  const char* const end = data + n;
  const char* run = p;  // start of the bytes not yet emitted
  std::uint64_t size = size_;
  while (p < end) {
    const char* text = p;
    if (*p == '.') {
      if (end - p < 2 || special(p[1])) break;
      text = p + 1;
    }
    const char* const cr = find_special(text, end);
    if (end - cr < 2 || cr[0] != '\r' || cr[1] != '\n') break;
    const auto raw = static_cast<std::uint64_t>(cr + 2 - p);  // counted as sent: stuffing dot and CRLF
    const auto kept = static_cast<std::uint64_t>(cr + 2 - text);
    if (raw > limits_.max_line || kept > limits_.max_size - size) break;
    if (text != p) {
      if (p != run) emit(std::string_view(run, static_cast<std::size_t>(p - run)));
      run = text;
      if (*text == '.') content_has_dot_line_ = true;
    }
    size += kept;
    p = cr + 2;
  }
  if (p == data + i) return i;
  if (p != run) emit(std::string_view(run, static_cast<std::size_t>(p - run)));
  size_ = size;
  previous_line_bare_ = false;
  return static_cast<std::size_t>(p - data);
}

std::size_t DataReader::feed(std::string_view input, DataSink& sink) {
  std::size_t i = 0;
  const std::size_t n = input.size();
  const char* const data = input.data();
  while (i < n && !done_) {
    if (line_length_ == 0 && !pending_cr_ && error_ == DataError::None) {
      if (const std::size_t passed = pass_whole_lines(data, i, n); passed != i) {
        i = passed;
        continue;
      }
    }
    char c = data[i];
    if (pending_cr_) {  // a CR at the end of the previous input
      pending_cr_ = false;
      if (c == '\n') {
        ++i;
        if (dot_first_ && !line_has_content_) {
          if (!previous_line_bare_) {
            done_ = true;
            break;
          }
          // <LF>.<CR><LF> and <CR>.<CR><LF>: the end marker as another parser might see it.
          fail(DataError::SmuggledEnd);
        }
        if (++line_length_ > limits_.max_line) fail(DataError::LineTooLong);
        end_line(false, kCrlf);
        continue;
      }
      end_line(true, kCrlf);  // the CR was alone; c starts the next line and is handled below
    }
    if (c == '\r') {
      if (i + 1 < n && data[i + 1] == '\n' && !dot_first_ && error_ == DataError::None &&
          line_length_ + 2 <= limits_.max_line && limits_.max_size - size_ >= 2) {
        // The usual line end, what end_line(false) would do here: the CRLF joins the run before it.
        size_ += 2;
        emit(input.substr(i, 2));
        previous_line_bare_ = false;
        line_length_ = 0;
        line_has_content_ = false;
        i += 2;
        continue;
      }
      if (++line_length_ > limits_.max_line) fail(DataError::LineTooLong);
      if (i + 1 == n) {
        pending_cr_ = true;  // its LF, if any, comes with the next input
        ++i;
        continue;
      }
      if (data[i + 1] != '\n') {
        end_line(true, kCrlf);
        ++i;
        continue;
      }
      if (dot_first_ && !line_has_content_) {
        if (!previous_line_bare_) {
          i += 2;
          done_ = true;
          break;
        }
        fail(DataError::SmuggledEnd);
      }
      if (++line_length_ > limits_.max_line) fail(DataError::LineTooLong);
      end_line(false, input.substr(i, 2));
      i += 2;
      continue;
    }
    if (c == '\n') {
      if (++line_length_ > limits_.max_line) fail(DataError::LineTooLong);
      end_line(true, kCrlf);
      ++i;
      continue;
    }
    if (line_length_ == 0 && c == '.') {
      dot_first_ = true;  // §4.5.2: the leading dot is removed (or the line is the end marker)
      ++line_length_;
      ++i;
      continue;
    }
    if (dot_first_ && !line_has_content_ && c == '.' && error_ == DataError::None) content_has_dot_line_ = true;
    line_has_content_ = true;
    if (c == '\0') {
      // A NUL counts at its own byte like the limits do, after the line limit (checked first for
      // each byte) and before the size limit.
      if (++line_length_ > limits_.max_line) fail(DataError::LineTooLong);
      fail(DataError::NulByte);
      ++i;
      continue;
    }
    // A run of ordinary bytes up to the next CR, LF or NUL, passed on as it lies in the input.
    const std::size_t end = static_cast<std::size_t>(find_special(data + i, data + n) - data);
    const std::size_t run = end - i;
    if (error_ == DataError::None) {
      // The reply must not depend on how TCP cut the stream: when the run crosses both limits, the
      // one crossed at the earlier byte decides, as it would if the bytes came one by one (where the
      // line limit is checked first, so it wins a tie).
      const std::uint64_t line_room = limits_.max_line - std::min<std::uint64_t>(line_length_, limits_.max_line);
      const std::uint64_t size_room = limits_.max_size - size_;  // size_ <= max_size while no error
      if (run > line_room && line_room <= size_room) {
        fail(DataError::LineTooLong);
      } else if (run > size_room) {
        fail(DataError::TooBig);
      } else {
        size_ += run;
        emit(input.substr(i, run));
      }
    }
    line_length_ += run;
    i = end;
  }
  deliver(sink);
  return i;
}

}  // namespace dkr::relay
