#include "message_io.hpp"

#include <istream>
#include <iterator>
#include <ostream>

#include "signer/message.hpp"

namespace dkr::app {

InputMessage read_message(std::istream& in) {
  std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  InputMessage msg;
  msg.lf_only = raw.find('\n') != std::string::npos && raw.find('\r') == std::string::npos;
  msg.crlf = signer::lf_to_crlf(raw);
  return msg;
}

void write_message(std::ostream& out, std::string_view text, bool lf_only) {
  if (!lf_only) {
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    return;
  }
  std::string converted;
  converted.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
    converted += text[i];
  }
  out.write(converted.data(), static_cast<std::streamsize>(converted.size()));
}

}  // namespace dkr::app
