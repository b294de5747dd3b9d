#pragma once
// RFC 6376 §3.4 canonicalization.
#include <cstdint>
#include <string>
#include <string>
#include <string_view>

#include "signer/algorithm.hpp"

namespace dkr::signer {

// Canonical form of one header field, with the trailing CRLF (§3.4.1, §3.4.2).
std::string canonicalize_header(Canon canon, std::string_view raw_field);

// Streaming body canonicalization (§3.4.3, §3.4.4). The body may be fed in chunks split anywhere
// (between CR and LF, inside whitespace runs, inside trailing empty lines); the canonical output is
// identical to one-shot canonicalization. Output is delivered to a sink in contiguous pieces,
// mostly as views into the input, so that hashing can run over long runs without copying.
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
  void relaxed_byte(char c);
  void content_byte(char c);
  void flush_buffer();
  void emit(std::string_view bytes);

  Canon canon_;
  Sink* sink_;
  std::uint64_t bytes_out_ = 0;
  std::uint64_t pending_crlf_ = 0;  // empty lines held back: they count only if content follows
  bool pending_cr_ = false;         // a CR seen at the end of the previous chunk
  bool pending_wsp_ = false;        // relaxed: a whitespace run seen, not yet known to end the line
  std::string buffer_;              // relaxed: rewritten output, handed to the sink per update()
};

// Convenience for tests and the CLI: the whole canonical body at once.
std::string canonicalize_body(Canon canon, std::string_view body);

}  // namespace dkr::signer
