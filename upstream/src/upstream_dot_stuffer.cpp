#include "upstream/upstream_dot_stuffer.hpp"

#include <cstring>

namespace dkr::upstream {

namespace {

// One scan for both outputs: `copy(from, to)` takes a run of content as it is, `dot()` the byte
// inserted before a '.' that starts a line. Lines are taken whole; only a CRLF followed by '.' needs
// a byte inserted. Returns whether the content ends a line, given `after_cr` from the piece before.
template <class Copy, class Dot>
bool stuff(std::string_view content, bool at_line_start, bool after_cr, Copy copy, Dot dot) {
  const char* const begin = content.data();
  const char* const end = begin + content.size();
  if (at_line_start && *begin == '.') dot();
  const char* copied = begin;
  const char* scan = begin;
  while (const void* found = std::memchr(scan, '\n', static_cast<std::size_t>(end - scan))) {
    const char* lf = static_cast<const char*>(found);
    const bool crlf = lf > begin ? lf[-1] == '\r' : after_cr;
    const char* next = lf + 1;
    if (crlf && next < end && *next == '.') {
      copy(copied, next);
      dot();
      copied = next;
    }
    scan = next;
  }
  copy(copied, end);
  return end[-1] == '\n' && (content.size() >= 2 ? end[-2] == '\r' : after_cr);
}

}  // namespace

void UpstreamDotStuffer::append(std::string_view content, std::string& out) {
  if (content.empty()) return;
  empty_ = false;
  out.reserve(out.size() + content.size() + content.size() / 64 + 1);
  at_line_start_ = stuff(
      content, at_line_start_, after_cr_, [&](const char* from, const char* to) { out.append(from, to); },
      [&] { out.push_back('.'); });
  after_cr_ = content.back() == '\r';
}

void UpstreamDotStuffer::append_pieces(std::string_view content, std::vector<std::string_view>& pieces) {
  static constexpr std::string_view dot = ".";
  if (content.empty()) return;
  empty_ = false;
  at_line_start_ = stuff(
      content, at_line_start_, after_cr_,
      [&](const char* from, const char* to) { pieces.emplace_back(from, static_cast<std::size_t>(to - from)); },
      [&] { pieces.push_back(dot); });
  after_cr_ = content.back() == '\r';
}

void UpstreamDotStuffer::take_verbatim(std::string_view content) {
  empty_ = false;
  at_line_start_ = content.back() == '\n' && (content.size() >= 2 ? content[content.size() - 2] == '\r' : after_cr_);
  after_cr_ = content.back() == '\r';
}

void UpstreamDotStuffer::append_verbatim(std::string_view content, std::string& out) {
  if (content.empty()) return;
  out.append(content);
  take_verbatim(content);
}

void UpstreamDotStuffer::append_pieces_verbatim(std::string_view content, std::vector<std::string_view>& pieces) {
  if (content.empty()) return;
  pieces.push_back(content);
  take_verbatim(content);
}

void UpstreamDotStuffer::finish_pieces(std::vector<std::string_view>& pieces) {
  static constexpr std::string_view line_end = "\r\n";
  static constexpr std::string_view terminator = ".\r\n";
  if (!empty_ && !at_line_start_) pieces.push_back(line_end);
  pieces.push_back(terminator);
  at_line_start_ = true;
  after_cr_ = false;
  empty_ = true;
}

void UpstreamDotStuffer::finish(std::string& out) {
  // An empty message is just the terminator; otherwise the last line must be complete.
  if (!empty_ && !at_line_start_) out += "\r\n";
  out += ".\r\n";
  at_line_start_ = true;
  after_cr_ = false;
  empty_ = true;
}

}  // namespace dkr::upstream
