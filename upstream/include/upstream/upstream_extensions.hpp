#pragma once
// What the upstream's EHLO reply advertised.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "upstream/smtp_reply.hpp"

namespace dkr::upstream {

struct UpstreamExtensions {
  bool pipelining = false;
  bool starttls = false;
  bool smtputf8 = false;
  bool eightbitmime = false;
  std::optional<std::uint64_t> size;         // SIZE offered; 0 means no fixed limit
  std::vector<std::string> auth_mechanisms;  // upper case

  bool offers_auth(std::string_view mechanism) const;
};

// `ehlo` is a 250 reply to EHLO: its first line is the greeting, the others are keywords.
UpstreamExtensions parse_ehlo_reply(const SmtpReply& ehlo);

// A command line as this upstream may receive it: a MAIL FROM without its AUTH= parameter when the
// upstream did not advertise AUTH (RFC 4954 §5: the parameter belongs to the extension; Postfix
// without SASL answers it with 555). Any other line is returned unchanged.
std::string for_upstream(std::string line, const UpstreamExtensions& extensions);

}  // namespace dkr::upstream
