#include "upstream/upstream_reply_parser.hpp"

#include <utility>

namespace dkr::upstream {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// RFC 5321 4.2: first digit 2..5, second 0..5, third 0..9.
bool is_reply_code(std::string_view s) {
  return s.size() >= 3 && s[0] >= '2' && s[0] <= '5' && s[1] >= '0' && s[1] <= '5' && is_digit(s[2]);
}

}  // namespace

std::size_t UpstreamReplyParser::feed(std::string_view input) {
  std::size_t used = 0;
  while (used < input.size() && state_ == State::incomplete) {
    const char c = input[used++];
    if (c == '\n') {
      end_line();
    } else if (line_.size() < max_line_length + 1) {  // +1 keeps a CR of a maximal line
      line_.push_back(c);
    }
  }
  return used;
}

void UpstreamReplyParser::end_line() {
  std::string line = std::move(line_);
  line_.clear();
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.size() > max_line_length) line.resize(max_line_length);

  if (!is_reply_code(line)) return fail("reply line without a valid code");
  const int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (!reply_.lines.empty() && code != reply_.code) return fail("reply lines with differing codes");
  bool last = true;
  if (line.size() > 3) {
    if (line[3] == '-') {
      last = false;
    } else if (line[3] != ' ') {
      return fail("reply code not followed by space or hyphen");
    }
  }
  if (reply_.lines.size() >= max_lines) return fail("reply has too many lines");
  reply_.code = code;
  reply_.lines.push_back(line.size() > 4 ? line.substr(4) : std::string());
  if (last) state_ = State::complete;
}

void UpstreamReplyParser::fail(std::string why) {
  state_ = State::malformed;
  problem_ = std::move(why);
}

SmtpReply UpstreamReplyParser::take() {
  SmtpReply out = std::move(reply_);
  reply_ = SmtpReply{};
  line_.clear();
  problem_.clear();
  state_ = State::incomplete;
  return out;
}

}  // namespace dkr::upstream
