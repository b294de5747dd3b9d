#pragma once
// RFC 6376 §3.4 canonicalization.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "signer/algorithm.hpp"

namespace dkr::signer {

// Canonical form of one header field, with the trailing CRLF (§3.4.1, §3.4.2).
std::string canonicalize_header(Canon canon, std::string_view raw_field);
// The same, appended to `out` (no string per field when building the signed header data).
void append_canonical_header(std::string& out, Canon canon, std::string_view raw_field);

// Streaming body canonicalization (§3.4.3, §3.4.4). The body may be fed in chunks split anywhere
// (between CR and LF, inside whitespace runs, inside trailing empty lines); the canonical output is
// identical to one-shot canonicalization. Output reaches the sink in large pieces (simple: views
// into the input; relaxed: up to 64 KiB of rewritten bytes), so hashing runs over long blocks; part
// of it may be held back until finish().
class BodyCanonicalizer {
 public:
  class Sink {
   public:
    virtual ~Sink() = default;
    virtual void write(std::string_view bytes) = 0;
  };

  BodyCanonicalizer(Canon canon, Sink& sink) : canon_(canon), sink_(&sink) {}
  void update(std::string_view chunk);
  // Flushes pending state: a body without final CRLF gets one; trailing empty lines are dropped;
  // an empty body becomes CRLF (simple) or nothing (relaxed).
  void finish();

  std::uint64_t bytes_out() const { return bytes_out_; }

 private:
  void update_simple(std::string_view chunk);
  void update_relaxed(std::string_view chunk);
  void rewrite_relaxed(const char* in, std::size_t count);
  void grow_output(std::size_t wanted);
  void flush_relaxed(bool body_end);
  void emit_holding_trailing_crlfs(std::string_view bytes);
  void emit_pending_crlfs();
  void emit(std::string_view bytes);

  Canon canon_;
  Sink* sink_;
  std::uint64_t bytes_out_ = 0;
  std::uint64_t pending_crlf_ = 0;  // empty lines held back: they count only if content follows
  bool pending_cr_ = false;         // simple: a CR seen at the end of the previous chunk
  // Relaxed: the last two input bytes, the lookahead that decides them is still to come.
  char undecided_[2] = {};
  std::size_t undecided_size_ = 0;
  // Relaxed: rewritten output not yet handed to the sink, grown up to 64 KiB.
  std::unique_ptr<char[]> out_;
  std::size_t out_size_ = 0;
  std::size_t out_capacity_ = 0;
};

// Convenience for tests and the CLI: the whole canonical body at once.
std::string canonicalize_body(Canon canon, std::string_view body);

}  // namespace dkr::signer
