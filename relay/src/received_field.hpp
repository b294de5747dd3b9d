#pragma once
// The Received: trace field the relay puts on top of each message (RFC 5321 §4.4), after signing:
// it is ours and not covered by the signature.
#include <string>
#include <string_view>

namespace dkr::relay {

// "Received: from <helo> ([<address>])\r\n\tby <host> (dkim-relay) with <protocol> id <id>;\r\n\t<date>\r\n"
std::string received_field(std::string_view helo, std::string_view address, std::string_view host,
                           std::string_view protocol, std::string_view id);

// The client's HELO name and our host name go into the field (and the EHLO greeting): only
// characters that cannot break its syntax, at most 255 of them, "unknown" when none are left.
std::string trace_safe(std::string_view text);

}  // namespace dkr::relay
