#pragma once
// Incremental parser for one (possibly multi-line) SMTP reply read from the upstream. Bounded
// against a hostile upstream: over-long lines are truncated, too many lines make the reply malformed.
#include <cstddef>
#include <string>
#include <string_view>

#include "upstream/smtp_reply.hpp"

namespace dkr::upstream {

class UpstreamReplyParser {
 public:
  static constexpr std::size_t max_lines = 100;
  static constexpr std::size_t max_line_length = 1000;  // bytes kept per line, CRLF excluded

  enum class State { incomplete, complete, malformed };

  // Consumes bytes up to and including the reply's last line end and returns how many it took;
  // bytes after that (a pipelined next reply) are left to the caller.
  std::size_t feed(std::string_view input);
  State state() const { return state_; }
  const std::string& problem() const { return problem_; }  // why it is malformed
  // The complete reply; the parser is then ready for the next one.
  SmtpReply take();

 private:
  void end_line();
  void fail(std::string why);

  State state_ = State::incomplete;
  std::string line_;
  SmtpReply reply_;
  std::string problem_;
};

}  // namespace dkr::upstream
