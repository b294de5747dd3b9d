#include "relay/mail_auth_parameter.hpp"
#include "common/ascii.hpp"

#include <cctype>

namespace dkr::relay {

namespace {

bool is_auth_parameter(std::string_view parameter) { return istarts_with(parameter, "AUTH="); }

}  // namespace

std::string xtext_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= '!' && u <= '~' && c != '+' && c != '=') {
      out += c;
    } else {
      out += '+';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

std::string upstream_mail_arguments(const SmtpCommand& command, const std::optional<std::string>& authenticated_user) {
  if (!command.mail.auth) return command.argument;
  // The parser checked the syntax: "<path>" then parameters, each after one space.
  std::string_view rest = std::string_view(command.argument).substr(command.path_length);
  std::string out = command.argument.substr(0, command.path_length);
  while (!rest.empty()) {
    rest.remove_prefix(1);  // the space
    const auto space = rest.find(' ');
    const std::string_view parameter = rest.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space);
    out += ' ';
    if (is_auth_parameter(parameter)) {
      out += "AUTH=";
      out += authenticated_user ? xtext_encode(*authenticated_user) : "<>";
    } else {
      out += parameter;
    }
  }
  return out;
}

}  // namespace dkr::relay
