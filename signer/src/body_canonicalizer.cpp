#include <algorithm>
#include <cstring>

#include "relaxed_body_rewrite.hpp"
#include "signer/canonicalization.hpp"

namespace dkr::signer {

namespace {

constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kManyCrlf = "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n";
// Relaxed output is handed to the digest in blocks of this size: fewer, longer updates, and the
// block is still in cache when SHA-256 reads it.
constexpr std::size_t kOutputBlock = 64 * 1024;
// Chunks shorter than this are joined to the undecided bytes and rewritten in one call.
constexpr std::size_t kShortChunk = 64;

RelaxedRewrite relaxed_rewrite() {
  static const RelaxedRewrite rewrite = best_relaxed_rewrite();
  return rewrite;
}

}  // namespace

void BodyCanonicalizer::update(std::string_view chunk) {
  if (chunk.empty()) return;
  if (canon_ == Canon::Simple) {
    update_simple(chunk);
  } else {
    update_relaxed(chunk);
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
      emit_pending_crlfs();
      emit("\r");  // a bare CR is content
    }
  }
  if (chunk.empty()) return;
  std::size_t end = chunk.size();
  if (chunk[end - 1] == '\r') {
    pending_cr_ = true;  // may be the first half of a CRLF split across chunks
    --end;
  }
  emit_holding_trailing_crlfs(chunk.substr(0, end));
}

// Relaxed (§3.4.4): whitespace runs become one SP, whitespace at line ends is dropped, trailing
// empty lines are dropped. Each byte is decided by the two after it (relaxed_body_rewrite.hpp), so
// the last two bytes of a chunk wait for the next one.
void BodyCanonicalizer::update_relaxed(std::string_view chunk) {
  const std::size_t n = chunk.size();
  if (undecided_size_ + n <= kShortChunk) {
    char joined[kShortChunk];
    std::memcpy(joined, undecided_, undecided_size_);
    std::memcpy(joined + undecided_size_, chunk.data(), n);
    const std::size_t size = undecided_size_ + n;
    const std::size_t decided = size > 2 ? size - 2 : 0;
    rewrite_relaxed(joined, decided);
    undecided_size_ = size - decided;
    std::memcpy(undecided_, joined + decided, undecided_size_);
    return;
  }
  // n > kShortChunk - 2 here: the undecided bytes get their lookahead from the chunk's first two.
  char joined[4];
  std::memcpy(joined, undecided_, undecided_size_);
  std::memcpy(joined + undecided_size_, chunk.data(), 2);
  rewrite_relaxed(joined, undecided_size_);
  rewrite_relaxed(chunk.data(), n - 2);
  std::memcpy(undecided_, chunk.data() + n - 2, 2);
  undecided_size_ = 2;
}

// Rewrites in[0, count) (reading two bytes further) into the output block, flushing it when full.
void BodyCanonicalizer::rewrite_relaxed(const char* in, std::size_t count) {
  if (count == 0) return;
  grow_output(count);
  const RelaxedRewrite rewrite = relaxed_rewrite();
  while (count > 0) {
    if (out_size_ == out_capacity_) flush_relaxed(false);
    const std::size_t take = std::min(count, out_capacity_ - out_size_);
    out_size_ = static_cast<std::size_t>(rewrite(in, take, out_.get() + out_size_) - out_.get());
    in += take;
    count -= take;
  }
}

// Short bodies (most mail) never need the whole block.
void BodyCanonicalizer::grow_output(std::size_t wanted) {
  if (out_size_ + wanted <= out_capacity_ || out_capacity_ >= kOutputBlock) return;
  const std::size_t capacity =
      std::min(kOutputBlock, std::max({out_size_ + wanted, 2 * out_capacity_, std::size_t{256}}));
  auto grown = std::make_unique<char[]>(capacity);
  if (out_size_ > 0) std::memcpy(grown.get(), out_.get(), out_size_);
  out_ = std::move(grown);
  out_capacity_ = capacity;
}

// Hands the output block to the sink, except its trailing CRLFs (empty lines count only if content
// follows) and, unless the body has ended, a final CR (it may be the first half of a CRLF).
void BodyCanonicalizer::flush_relaxed(bool body_end) {
  char* const out = out_.get();
  const std::size_t held_cr = (!body_end && out_size_ > 0 && out[out_size_ - 1] == '\r') ? 1 : 0;
  emit_holding_trailing_crlfs(std::string_view(out, out_size_ - held_cr));
  if (held_cr != 0) out[0] = '\r';
  out_size_ = held_cr;
}

// Trailing CRLFs are only counted: they are emitted once more content follows and dropped (§3.4.3,
// §3.4.4) if the body ends here.
void BodyCanonicalizer::emit_holding_trailing_crlfs(std::string_view bytes) {
  std::size_t end = bytes.size();
  std::uint64_t trailing = 0;
  while (end >= 2 && bytes[end - 2] == '\r' && bytes[end - 1] == '\n') {
    end -= 2;
    ++trailing;
  }
  if (end > 0) {
    emit_pending_crlfs();
    emit(bytes.substr(0, end));
    pending_crlf_ = trailing;
  } else {
    pending_crlf_ += trailing;
  }
}

void BodyCanonicalizer::emit_pending_crlfs() {
  while (pending_crlf_ > 0) {
    const std::size_t n = std::min<std::uint64_t>(pending_crlf_, kManyCrlf.size() / 2);
    emit(kManyCrlf.substr(0, 2 * n));
    pending_crlf_ -= n;
  }
}

void BodyCanonicalizer::emit(std::string_view bytes) {
  bytes_out_ += bytes.size();
  sink_->write(bytes);
}

void BodyCanonicalizer::finish() {
  if (canon_ == Canon::Simple) {
    if (pending_cr_) {
      pending_cr_ = false;
      emit_pending_crlfs();
      emit("\r");
    }
  } else {
    grow_output(undecided_size_);
    if (out_capacity_ - out_size_ < undecided_size_) flush_relaxed(false);
    char* const out = out_.get();
    out_size_ = static_cast<std::size_t>(relaxed_rewrite_body_end(undecided_, undecided_size_, out + out_size_) - out);
    undecided_size_ = 0;
    flush_relaxed(true);
  }
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
