#include "relay/upstream_dot_stuffer.hpp"

namespace dkr::relay {

void UpstreamDotStuffer::append(std::string_view content, std::string& out) {
  if (content.empty()) return;
  empty_ = false;
  out.reserve(out.size() + content.size() + content.size() / 64 + 1);
  for (const char c : content) {
    if (at_line_start_ && c == '.') out.push_back('.');
    out.push_back(c);
    at_line_start_ = after_cr_ && c == '\n';
    after_cr_ = c == '\r';
  }
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
