#include <cstring>

#include "signer/canonicalization.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace dkr::signer {

namespace {

constexpr std::string_view kCrlf = "\r\n";
constexpr std::size_t kFlushSize = 64 * 1024;

// Relaxed canonicalization rewrites only whitespace runs, tabs and whitespace before a line end.
// Everything else passes through unchanged, so the canonicalizer scans 16 bytes at a time for the
// first byte that needs a rewrite and copies the clean stretch before it in one piece.
// A byte needs attention when it is a tab, or a space followed by a space, tab or CR.
inline bool needs_rewrite(const char* p, std::size_t i, std::size_t n) {
  const char c = p[i];
  if (c == '\t') return true;
  if (c == ' ') return i + 1 == n || p[i + 1] == ' ' || p[i + 1] == '\t' || p[i + 1] == '\r';
  if (c == '\r') return i + 1 == n;  // might be the first half of a CRLF split across chunks
  return false;
}

#if defined(__SSE2__)
inline unsigned byte_mask(__m128i v, char c) {
  return static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(c))));
}
#endif

// Index of the first byte at or after `i` that needs a rewrite, or n.
inline std::size_t find_rewrite(const char* p, std::size_t i, std::size_t n) {
#if defined(__SSE2__)
  // 16 bytes at a time, with the following byte as lookahead (so p[i + 16] must exist).
  while (i + 17 <= n) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const __m128i next = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + 1));
    const unsigned sp = byte_mask(v, ' ');
    const unsigned tab = byte_mask(v, '\t');
    const unsigned next_ws = byte_mask(next, ' ') | byte_mask(next, '\t') | byte_mask(next, '\r');
    const unsigned bad = tab | (sp & next_ws);
    if (bad != 0) return i + static_cast<std::size_t>(__builtin_ctz(bad));
    i += 16;
  }
#endif
  for (; i < n; ++i)
    if (needs_rewrite(p, i, n)) return i;
  return n;
}

}  // namespace

void BodyCanonicalizer::update(std::string_view chunk) {
  if (chunk.empty()) return;
  if (canon_ == Canon::Simple) {
    update_simple(chunk);
  } else {
    update_relaxed(chunk);
    flush_buffer();
  }
}

// Simple (§3.4.3): the body is unchanged except that trailing empty lines are dropped. Everything
// but a chunk's trailing run of CRLFs can go out as it is; the run is held until content follows.
void BodyCanonicalizer::update_simple(std::string_view chunk) {
  if (pending_cr_) {
    pending_cr_ = false;
    if (chunk.front() == '\n') {
      ++pending_crlf_;
      chunk.remove_prefix(1);
    } else {
      for (; pending_crlf_ > 0; --pending_crlf_) emit(kCrlf);
      emit("\r");  // a bare CR is content
    }
  }
  if (chunk.empty()) return;
  std::size_t end = chunk.size();
  if (chunk[end - 1] == '\r') {
    pending_cr_ = true;  // may be the first half of a CRLF split across chunks
    --end;
  }
  std::uint64_t trailing = 0;
  while (end >= 2 && chunk[end - 2] == '\r' && chunk[end - 1] == '\n') {
    end -= 2;
    ++trailing;
  }
  if (end > 0) {
    for (; pending_crlf_ > 0; --pending_crlf_) emit(kCrlf);
    emit(chunk.substr(0, end));
    pending_crlf_ = trailing;
  } else {
    pending_crlf_ += trailing;
  }
}

void BodyCanonicalizer::content_byte(char c) {
  for (; pending_crlf_ > 0; --pending_crlf_) buffer_.append(kCrlf);
  if (pending_wsp_) {
    buffer_ += ' ';
    pending_wsp_ = false;
  }
  buffer_ += c;
}

void BodyCanonicalizer::relaxed_byte(char c) {
  if (pending_cr_) {
    pending_cr_ = false;
    if (c == '\n') {
      pending_wsp_ = false;  // whitespace at the end of a line is dropped
      ++pending_crlf_;
      return;
    }
    content_byte('\r');
  }
  switch (c) {
    case ' ':
    case '\t':
      pending_wsp_ = true;
      break;
    case '\r':
      pending_cr_ = true;
      break;
    default:
      content_byte(c);
  }
}

// Relaxed (§3.4.4): whitespace runs become one SP, whitespace at line ends is dropped, trailing
// empty lines are dropped.
void BodyCanonicalizer::update_relaxed(std::string_view chunk) {
  const char* p = chunk.data();
  const std::size_t n = chunk.size();
  std::size_t i = 0;
  while (i < n) {
    if (!pending_cr_ && !pending_wsp_) {
      const std::size_t stop = find_rewrite(p, i, n);
      // The stretch [i, stop) is output as it is, except its trailing CRLFs: they are empty lines
      // only if nothing follows, which is not known yet.
      std::size_t head_end = stop;
      std::uint64_t trailing = 0;
      while (head_end >= i + 2 && p[head_end - 2] == '\r' && p[head_end - 1] == '\n') {
        head_end -= 2;
        ++trailing;
      }
      if (head_end > i) {
        for (; pending_crlf_ > 0; --pending_crlf_) buffer_.append(kCrlf);
        buffer_.append(p + i, head_end - i);
        pending_crlf_ = trailing;
        // Copying is cheaper than many small digest updates; hash in large blocks.
        if (buffer_.size() >= kFlushSize) flush_buffer();
      } else {
        pending_crlf_ += trailing;
      }
      i = stop;
      if (i == n) break;
      // Most rewrites are one whitespace run: dropped before a line end, else one SP.
      std::size_t j = i;
      while (j < n && (p[j] == ' ' || p[j] == '\t')) ++j;
      if (j > i && j < n) {
        if (p[j] != '\r') {
          for (; pending_crlf_ > 0; --pending_crlf_) buffer_.append(kCrlf);
          buffer_ += ' ';
          i = j;
          continue;
        }
        if (j + 1 < n && p[j + 1] == '\n') {
          i = j;
          continue;
        }
      }
    }
    // Slow path: through the byte that needs a rewrite, and on until the state is clean again.
    do {
      relaxed_byte(p[i++]);
    } while (i < n && (pending_cr_ || pending_wsp_));
  }
}

void BodyCanonicalizer::flush_buffer() {
  if (buffer_.empty()) return;
  emit(buffer_);
  buffer_.clear();
}

void BodyCanonicalizer::emit(std::string_view bytes) {
  bytes_out_ += bytes.size();
  sink_->write(bytes);
}

void BodyCanonicalizer::finish() {
  if (pending_cr_) {
    pending_cr_ = false;
    if (canon_ == Canon::Simple) {
      for (; pending_crlf_ > 0; --pending_crlf_) emit(kCrlf);
      emit("\r");
    } else {
      content_byte('\r');
    }
  }
  // Trailing whitespace on the last line (relaxed) is dropped with the line end we add.
  pending_wsp_ = false;
  flush_buffer();
  if (bytes_out_ > 0) {
    emit(kCrlf);  // the last line's own CRLF (added if the body lacked it)
  } else if (canon_ == Canon::Simple) {
    emit(kCrlf);  // §3.4.3: an empty body is a single CRLF; §3.4.4 (errata 1384): relaxed empty is empty
  }
  pending_crlf_ = 0;
}

namespace {
class StringSink : public BodyCanonicalizer::Sink {
 public:
  explicit StringSink(std::string& out) : out_(out) {}
  void write(std::string_view bytes) override { out_.append(bytes); }

 private:
  std::string& out_;
};
}  // namespace

std::string canonicalize_body(Canon canon, std::string_view body) {
  std::string out;
  StringSink sink(out);
  BodyCanonicalizer canonicalizer(canon, sink);
  canonicalizer.update(body);
  canonicalizer.finish();
  return out;
}

}  // namespace dkr::signer
