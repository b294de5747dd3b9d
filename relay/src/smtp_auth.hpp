#pragma once
// AUTH for the inbound session (RFC 4954; PLAIN RFC 4616; LOGIN draft-murchison-sasl-login). The
// session's AUTH handlers live in smtp_auth.cpp beside smtp_session.cpp, as Postfix keeps
// smtpd_sasl_proto.c beside smtpd.c; what needs no session state is here.
#include <optional>
#include <string>
#include <string_view>

namespace dkr::relay {

// "AUTH <mechanism> [initial-response]": the mechanism upper-cased.
struct AuthCommand {
  std::string mechanism;
  std::string_view initial;  // empty when none was given
};
AuthCommand parse_auth_command(std::string_view argument);

// A decoded PLAIN response: authzid NUL authcid NUL passwd.
struct PlainCredentials {
  std::string authzid;
  std::string user;
  std::string password;
};
// nullopt when the response does not have exactly two NULs. Wipes `decoded` either way.
std::optional<PlainCredentials> split_plain_response(std::string& decoded);

}  // namespace dkr::relay
