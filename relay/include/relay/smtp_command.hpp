#pragma once
// One SMTP command line parsed (RFC 5321 §4.1, with the 8BITMIME, SIZE, SMTPUTF8 and AUTH
// extensions). Pure: no session state; the session decides what is allowed when.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "relay/upstream_vocabulary.hpp"

namespace dkr::relay {

enum class Verb { Helo, Ehlo, Mail, Rcpt, Data, Rset, Noop, Quit, Help, Vrfy, Expn, StartTls, Auth };

enum class BodyType { Unspecified, SevenBit, EightBitMime };

struct MailParameters {
  std::optional<std::uint64_t> size;  // SIZE=
  BodyType body = BodyType::Unspecified;
  bool smtputf8 = false;
  bool auth = false;  // AUTH= given (RFC 4954 §5); its value is never passed on as given
};

struct SmtpCommand {
  Verb verb = Verb::Noop;
  // HELO/EHLO: the domain; AUTH: "MECH [initial-response]"; VRFY/EXPN/HELP/NOOP: the rest of the line.
  // MAIL/RCPT: everything after "FROM:" / "TO:" with leading spaces removed, as passed upstream.
  std::string argument;
  std::string address;             // MAIL/RCPT: the path without angle brackets ("" for MAIL FROM:<>)
  std::size_t path_length = 0;     // MAIL/RCPT: bytes of `argument` taken by "<path>"; parameters follow
  MailParameters mail;             // MAIL only
  bool non_ascii_address = false;  // address contains UTF-8: needs SMTPUTF8
};

// The reply for a line that is not a valid command: 500 5.5.1 unknown verb, 501 5.5.4 bad syntax,
// 501 5.1.7 / 5.1.3 bad sender / recipient address, 555 5.5.4 unsupported MAIL/RCPT parameter.
using CommandParse = std::variant<SmtpCommand, SmtpReply>;

// `line` is without its CRLF.
CommandParse parse_command(std::string_view line);

}  // namespace dkr::relay
