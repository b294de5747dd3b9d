#include <cstring>

#include "signer/canonicalization.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace dkr::signer {

namespace {

constexpr std::string_view kCrlf = "\r\n";

#if defined(__SSE2__)
inline unsigned byte_mask(__m128i v, char c) {
  return static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(c))));
}

// Relaxed canonicalization leaves most text unchanged. For the 16 bytes at p (p[16] must be
// readable, as lookahead), returns how many leading bytes can be copied verbatim: all bytes up to and
// including the last "content" byte, provided no rewrite is needed anywhere in the block (no tab,
// no whitespace run, no whitespace before a line end, no bare CR/LF, no empty line). 0 = no.
inline std::size_t relaxed_clean_prefix(const char* p, bool lines_pending) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i next = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 1));
  const unsigned sp = byte_mask(v, ' ');
  const unsigned tab = byte_mask(v, '\t');
  const unsigned cr = byte_mask(v, '\r');
  const unsigned lf = byte_mask(v, '\n');
  const unsigned next_sp = byte_mask(next, ' ');
  const unsigned next_tab = byte_mask(next, '\t');
  const unsigned next_cr = byte_mask(next, '\r');
  const unsigned next_lf = byte_mask(next, '\n');
  unsigned bad = tab | (sp & (next_sp | next_tab | next_cr | next_lf)) | (cr & ~next_lf) |
                 (lf & ~(cr << 1)) | (lf & next_cr);
  if (lines_pending) bad |= (cr | lf) & 1u;  // held-back empty lines may continue: let the slow path decide
  if ((bad & 0xFFFFu) != 0) return 0;
  const unsigned content = ~(sp | tab | cr | lf) & 0xFFFFu;
  if (content == 0) return 0;
  return 32 - static_cast<std::size_t>(__builtin_clz(content));
}
#endif

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
#if defined(__SSE2__)
    if (!pending_cr_ && !pending_wsp_ && i + 17 <= n) {
      const std::size_t clean = relaxed_clean_prefix(p + i, pending_crlf_ > 0);
      if (clean > 0) {
        for (; pending_crlf_ > 0; --pending_crlf_) buffer_.append(kCrlf);
        buffer_.append(p + i, clean);
        i += clean;
        if (buffer_.size() >= 64 * 1024) flush_buffer();
        continue;
      }
    }
#endif
    // Slow path: at least one byte, then on until the state is clean again.
    do {
      relaxed_byte(p[i++]);
    } while (i < n && (pending_cr_ || pending_wsp_));
    if (buffer_.size() >= 64 * 1024) flush_buffer();
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
