#pragma once
// Reading a message from stdin for the CLI, with LF-only files converted to CRLF.
#include <string>
#include <string_view>

namespace dkr::app {

struct InputMessage {
  std::string crlf;      // the message with CRLF line ends
  bool lf_only = false;  // the input had LF line ends only: write output the same way
};

InputMessage read_message(std::istream& in);
void write_message(std::ostream& out, std::string_view crlf_text, bool lf_only);

}  // namespace dkr::app
