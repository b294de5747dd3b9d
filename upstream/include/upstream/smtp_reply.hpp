#pragma once
// An SMTP reply as relayed between the upstream and the client.
#include <string>
#include <vector>

namespace dkr::upstream {

struct SmtpReply {
  int code = 0;                    // 250, 451, ...
  std::vector<std::string> lines;  // text lines without code and CRLF; enhanced code included in the text
  bool positive() const { return code >= 200 && code < 400; }
  bool transient() const { return code >= 400 && code < 500; }
  bool permanent() const { return code >= 500; }
  // Wire form: "250-first\r\n250 last\r\n"
  std::string wire() const;
  // "250 first line", for logs and for replies that quote the upstream.
  std::string first_line() const;
};

SmtpReply make_reply(int code, std::string enhanced, std::string text);  // "4.4.1 text"

}  // namespace dkr::upstream
