#pragma once
// RFC 4954 §5: the AUTH= parameter of MAIL names the submitter to the next hop. A client's own value
// is not trusted: the relay passes on AUTH=<> unless the client authenticated, and then the
// authenticated identity (xtext, RFC 3461 §4).
#include <optional>
#include <string>
#include <string_view>

#include "relay/smtp_command.hpp"

namespace dkr::relay {

// RFC 3461 §4: "!".."~" except "+" and "=" as they are, everything else as "+XX".
std::string xtext_encode(std::string_view text);

// The MAIL arguments to pass upstream: `command.argument` as given, except that a client's AUTH=
// parameter carries `<>` or the authenticated user instead of the client's value.
std::string upstream_mail_arguments(const SmtpCommand& command, const std::optional<std::string>& authenticated_user);

}  // namespace dkr::relay
