#include "upstream/smtp_reply.hpp"

namespace dkr::upstream {

std::string SmtpReply::wire() const {
  std::string code_text = std::to_string(code);
  if (lines.empty()) return code_text + " \r\n";
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    out += code_text;
    out += (i + 1 == lines.size()) ? ' ' : '-';
    out += lines[i];
    out += "\r\n";
  }
  return out;
}

std::string SmtpReply::first_line() const {
  return std::to_string(code) + " " + (lines.empty() ? std::string() : lines.front());
}

SmtpReply make_reply(int code, std::string enhanced, std::string text) {
  SmtpReply reply;
  reply.code = code;
  reply.lines.push_back(enhanced.empty() ? std::move(text) : enhanced + " " + text);
  return reply;
}

}  // namespace dkr::upstream
