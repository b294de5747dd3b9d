#include "upstream/upstream_dot_stuffer.hpp"

#include <cstring>

namespace dkr::relay {

void UpstreamDotStuffer::append(std::string_view content, std::string& out) {
  if (content.empty()) return;
  empty_ = false;
  out.reserve(out.size() + content.size() + content.size() / 64 + 1);
  const char* const begin = content.data();
  const char* const end = begin + content.size();
  if (at_line_start_ && *begin == '.') out.push_back('.');
  // Lines are copied whole; only a CRLF followed by '.' needs a byte inserted.
  const char* copied = begin;
  const char* scan = begin;
  while (const void* found = std::memchr(scan, '\n', static_cast<std::size_t>(end - scan))) {
    const char* lf = static_cast<const char*>(found);
    const bool crlf = lf > begin ? lf[-1] == '\r' : after_cr_;
    const char* next = lf + 1;
    if (crlf && next < end && *next == '.') {
      out.append(copied, next);
      out.push_back('.');
      copied = next;
    }
    scan = next;
  }
  out.append(copied, end);
  at_line_start_ = end[-1] == '\n' && (content.size() >= 2 ? end[-2] == '\r' : after_cr_);
  after_cr_ = end[-1] == '\r';
}

void UpstreamDotStuffer::append_pieces(std::string_view content, std::vector<std::string_view>& pieces) {
  static constexpr std::string_view dot = ".";
  if (content.empty()) return;
  empty_ = false;
  const char* const begin = content.data();
  const char* const end = begin + content.size();
  if (at_line_start_ && *begin == '.') pieces.push_back(dot);
  const char* copied = begin;
  const char* scan = begin;
  while (const void* found = std::memchr(scan, '\n', static_cast<std::size_t>(end - scan))) {
    const char* lf = static_cast<const char*>(found);
    const bool crlf = lf > begin ? lf[-1] == '\r' : after_cr_;
    const char* next = lf + 1;
    if (crlf && next < end && *next == '.') {
      pieces.emplace_back(copied, static_cast<std::size_t>(next - copied));
      pieces.push_back(dot);
      copied = next;
    }
    scan = next;
  }
  pieces.emplace_back(copied, static_cast<std::size_t>(end - copied));
  at_line_start_ = end[-1] == '\n' && (content.size() >= 2 ? end[-2] == '\r' : after_cr_);
  after_cr_ = end[-1] == '\r';
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

}  // namespace dkr::relay
