// One SMTP command line (RFC 5321 §4.1, ESMTP parameters). What the parser accepts is passed on to
// the upstream, so it must never carry a line break (command injection) or a NUL.
//
// Input: one command line; the session strips the CRLF, but a line may still hold lone CR/LF.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "fuzz_check.hpp"
#include "relay/smtp_command.hpp"

namespace {

using dkr::fuzz::check;

bool has_line_break_or_nul(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

bool has_non_ascii(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  const auto parsed = dkr::relay::parse_command(line);

  if (const auto* reply = std::get_if<dkr::relay::SmtpReply>(&parsed)) {
    check(reply->code >= 500 && reply->code <= 599, "a bad command line got a non-5xx reply", line);
    check(!reply->lines.empty(), "reply without text", line);
    const std::string wire = reply->wire();
    check(wire.size() >= 6 && wire.substr(wire.size() - 2) == "\r\n", "reply wire form lacks CRLF", line);
    // Echoing client bytes into a reply must not break the reply's framing.
    for (const auto& text : reply->lines) {
      check(!has_line_break_or_nul(text), "reply text contains CR, LF or NUL", line);
    }
    return 0;
  }

  const auto& command = std::get<dkr::relay::SmtpCommand>(parsed);
  check(!has_line_break_or_nul(command.argument), "accepted command argument contains CR, LF or NUL", line);
  check(!has_line_break_or_nul(command.address), "accepted address contains CR, LF or NUL", line);
  check(command.non_ascii_address == has_non_ascii(command.address), "non_ascii_address disagrees with the address",
        line);
  using dkr::relay::Verb;
  if (command.verb == Verb::Mail || command.verb == Verb::Rcpt) {
    // A quoted local part may hold '<' or '>'; outside it the brackets must be gone.
    check(command.address.empty() || command.address.front() != '<', "address keeps its angle bracket", line);
    check(command.verb == Verb::Mail || !command.address.empty(), "RCPT TO:<> accepted", line);
    check(line.size() >= command.argument.size(), "argument longer than the line", line);
  }
  if (command.verb != Verb::Mail) {
    check(!command.mail.size && command.mail.body == dkr::relay::BodyType::Unspecified && !command.mail.smtputf8,
          "MAIL parameters on a command that is not MAIL", line);
  }
  return 0;
}
