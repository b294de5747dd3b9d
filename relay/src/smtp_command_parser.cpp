#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <optional>
#include <vector>

#include "relay/smtp_command.hpp"
#include "common/ascii.hpp"

namespace dkr::relay {

namespace {

constexpr std::size_t kMaxPath = 256;      // RFC 5321 §4.5.3.1.3, incl. the angle brackets
constexpr std::size_t kMaxLocalPart = 64;  // §4.5.3.1.1
constexpr std::size_t kMaxDomain = 255;    // §4.5.3.1.2
constexpr std::size_t kMaxLabel = 63;

bool is_alnum(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

bool is_utf8(unsigned char c) { return c >= 0x80; }

bool is_atext(unsigned char c) {
  return is_alnum(c) || is_utf8(c) || (c != 0 && std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr);
}

SmtpReply syntax_error(std::string text) { return make_reply(501, "5.5.4", std::move(text)); }

struct Verbs {
  std::string_view name;
  Verb verb;
};
constexpr std::array<Verbs, 13> kVerbs{{{"HELO", Verb::Helo},
                                        {"EHLO", Verb::Ehlo},
                                        {"MAIL", Verb::Mail},
                                        {"RCPT", Verb::Rcpt},
                                        {"DATA", Verb::Data},
                                        {"RSET", Verb::Rset},
                                        {"NOOP", Verb::Noop},
                                        {"QUIT", Verb::Quit},
                                        {"HELP", Verb::Help},
                                        {"VRFY", Verb::Vrfy},
                                        {"EXPN", Verb::Expn},
                                        {"STARTTLS", Verb::StartTls},
                                        {"AUTH", Verb::Auth}}};

bool valid_dot_string(std::string_view text) {
  if (text.empty() || text.front() == '.' || text.back() == '.') return false;
  char previous = 0;
  for (char c : text) {
    if (c == '.') {
      if (previous == '.') return false;
    } else if (!is_atext(static_cast<unsigned char>(c))) {
      return false;
    }
    previous = c;
  }
  return true;
}

bool valid_quoted_string(std::string_view text) {
  if (text.size() < 2 || text.front() != '"' || text.back() != '"') return false;
  for (std::size_t i = 1; i + 1 < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '\\') {
      if (i + 2 >= text.size()) return false;  // the escaped character must not be the closing quote
      auto escaped = static_cast<unsigned char>(text[++i]);
      if (escaped < 32 || escaped > 126) return false;
    } else if (c == '"' || (c < 32) || c == 127) {
      return false;
    }
  }
  return true;
}

bool valid_domain(std::string_view domain) {
  if (domain.empty() || domain.size() > kMaxDomain) return false;
  if (domain.front() == '[') {
    if (domain.size() < 3 || domain.back() != ']') return false;
    for (char c : domain.substr(1, domain.size() - 2)) {
      auto u = static_cast<unsigned char>(c);
      if (u < 33 || u > 126 || c == '[' || c == ']' || c == '\\') return false;
    }
    return true;
  }
  std::size_t start = 0;
  while (true) {
    auto dot = domain.find('.', start);
    auto label = domain.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > kMaxLabel || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      auto u = static_cast<unsigned char>(c);
      if (!is_alnum(u) && !is_utf8(u) && c != '-') return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// Validates "local@domain" (the inside of a path); sets non_ascii.
bool valid_mailbox(std::string_view mailbox, bool& non_ascii) {
  std::size_t at = std::string_view::npos;
  if (!mailbox.empty() && mailbox.front() == '"') {
    // The closing quote is the first unescaped quote after the opening one.
    std::size_t i = 1;
    while (i < mailbox.size() && mailbox[i] != '"') i += (mailbox[i] == '\\') ? 2 : 1;
    if (i >= mailbox.size() || i + 1 >= mailbox.size() || mailbox[i + 1] != '@') return false;
    at = i + 1;
  } else {
    at = mailbox.rfind('@');
    if (at == std::string_view::npos) return false;
  }
  auto local = mailbox.substr(0, at);
  auto domain = mailbox.substr(at + 1);
  if (local.size() > kMaxLocalPart) return false;
  bool local_ok = local.front() == '"' ? valid_quoted_string(local) : valid_dot_string(local);
  if (!local_ok || !valid_domain(domain)) return false;
  non_ascii =
      std::any_of(mailbox.begin(), mailbox.end(), [](char c) { return is_utf8(static_cast<unsigned char>(c)); });
  return true;
}

// Finds the '>' closing a path that starts at text[0] == '<', skipping quoted strings.
std::size_t closing_bracket(std::string_view text) {
  bool quoted = false;
  for (std::size_t i = 1; i < text.size(); ++i) {
    char c = text[i];
    if (quoted && c == '\\') {
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == '>' && !quoted) {
      return i;
    }
  }
  return std::string_view::npos;
}

struct Parameter {
  std::string_view keyword;
  std::optional<std::string_view> value;
};

// esmtp-param = esmtp-keyword ["=" esmtp-value], separated by single spaces (§4.1.2).
std::optional<std::vector<Parameter>> parse_parameters(std::string_view text) {
  std::vector<Parameter> params;
  while (!text.empty()) {
    auto space = text.find(' ');
    auto item = text.substr(0, space);
    text = space == std::string_view::npos ? std::string_view{} : text.substr(space + 1);
    if (item.empty()) return std::nullopt;
    Parameter p;
    auto eq = item.find('=');
    p.keyword = item.substr(0, eq);
    if (p.keyword.empty() || !is_alnum(static_cast<unsigned char>(p.keyword.front()))) return std::nullopt;
    for (char c : p.keyword) {
      if (!is_alnum(static_cast<unsigned char>(c)) && c != '-') return std::nullopt;
    }
    if (eq != std::string_view::npos) {
      auto value = item.substr(eq + 1);
      if (value.empty()) return std::nullopt;
      for (char c : value) {
        auto u = static_cast<unsigned char>(c);
        if (c == '=' || (u < 33) || u == 127) return std::nullopt;
      }
      p.value = value;
    }
    params.push_back(p);
  }
  return params;
}

std::optional<SmtpReply> apply_mail_parameters(const std::vector<Parameter>& params, MailParameters& mail) {
  bool seen_size = false, seen_body = false, seen_utf8 = false, seen_auth = false;
  for (const auto& p : params) {
    if (iequals(p.keyword, "SIZE")) {
      if (seen_size || !p.value) return syntax_error("Bad SIZE parameter");
      std::uint64_t size = 0;
      auto v = *p.value;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), size);
      if (ec == std::errc::result_out_of_range) {
        size = UINT64_MAX;  // a number too large for us is certainly over the limit
      } else if (ec != std::errc{} || end != v.data() + v.size()) {
        return syntax_error("Bad SIZE parameter");
      }
      for (char c : v) {
        if (c < '0' || c > '9') return syntax_error("Bad SIZE parameter");
      }
      mail.size = size;
      seen_size = true;
    } else if (iequals(p.keyword, "BODY")) {
      if (seen_body || !p.value) return syntax_error("Bad BODY parameter");
      if (iequals(*p.value, "7BIT")) {
        mail.body = BodyType::SevenBit;
      } else if (iequals(*p.value, "8BITMIME")) {
        mail.body = BodyType::EightBitMime;
      } else {
        return make_reply(555, "5.5.4", "Unsupported BODY type");
      }
      seen_body = true;
    } else if (iequals(p.keyword, "SMTPUTF8")) {
      if (seen_utf8 || p.value) return syntax_error("Bad SMTPUTF8 parameter");
      mail.smtputf8 = true;
      seen_utf8 = true;
    } else if (iequals(p.keyword, "AUTH")) {
      // RFC 4954 §5: the submitter identity; accepted and passed on, the session's own AUTH decides.
      if (seen_auth || !p.value) return syntax_error("Bad AUTH parameter");
      seen_auth = true;
      mail.auth = true;
    } else {
      return make_reply(555, "5.5.4", "Unsupported MAIL parameter");
    }
  }
  return std::nullopt;
}

CommandParse parse_path_command(Verb verb, std::string_view rest) {
  bool is_mail = verb == Verb::Mail;
  std::string_view prefix = is_mail ? " FROM:" : " TO:";
  if (!istarts_with(rest, prefix))
    return syntax_error(is_mail ? "Syntax: MAIL FROM:<address>" : "Syntax: RCPT TO:<address>");
  rest.remove_prefix(prefix.size());
  // RFC 5321 has no space after the colon, but enough clients send one that refusing it only hurts.
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  SmtpCommand cmd;
  cmd.verb = verb;
  cmd.argument = std::string(rest);
  auto bad_address = [&] {
    return is_mail ? make_reply(501, "5.1.7", "Bad sender address syntax")
                   : make_reply(501, "5.1.3", "Bad recipient address syntax");
  };
  if (rest.empty() || rest.front() != '<') return bad_address();
  auto close = closing_bracket(rest);
  if (close == std::string_view::npos) return bad_address();
  auto path = rest.substr(0, close + 1);
  if (path.size() > kMaxPath) return bad_address();
  auto inner = path.substr(1, path.size() - 2);
  auto after = rest.substr(close + 1);
  if (inner.empty()) {
    if (!is_mail) return bad_address();  // the null path is only a reverse-path
  } else if (!is_mail && iequals(inner, "postmaster")) {
    // §4.1.1.3: <Postmaster> without a domain must be accepted.
  } else if (inner.front() == '@') {
    return make_reply(501, "5.1.0", "Source routes are not accepted");  // §4.1.1.3, Appendix C
  } else if (!valid_mailbox(inner, cmd.non_ascii_address)) {
    return bad_address();
  }
  cmd.address = std::string(inner);
  cmd.path_length = path.size();
  if (!after.empty()) {
    if (after.front() != ' ') return bad_address();
    auto params = parse_parameters(after.substr(1));
    if (!params) return syntax_error("Bad parameter syntax");
    if (is_mail) {
      if (auto error = apply_mail_parameters(*params, cmd.mail)) return *error;
    } else if (!params->empty()) {
      return make_reply(555, "5.5.4", "Unsupported RCPT parameter");
    }
  }
  return cmd;
}

}  // namespace

CommandParse parse_command(std::string_view line) {
  for (char c : line) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 32 && c != '\t') || u == 127)
      return make_reply(500, "5.5.2", "Syntax error: control character in command");
  }
  auto space = line.find(' ');
  auto verb_text = line.substr(0, space);
  auto rest = space == std::string_view::npos ? std::string_view{} : line.substr(space);
  auto found = std::find_if(kVerbs.begin(), kVerbs.end(), [&](const Verbs& v) { return iequals(v.name, verb_text); });
  if (found == kVerbs.end()) return make_reply(500, "5.5.1", "Command unrecognized");
  Verb verb = found->verb;
  if (verb == Verb::Mail || verb == Verb::Rcpt) return parse_path_command(verb, rest);

  SmtpCommand cmd;
  cmd.verb = verb;
  std::string_view argument = rest.empty() ? rest : rest.substr(1);
  switch (verb) {
    case Verb::Data:
    case Verb::Rset:
    case Verb::Quit:
    case Verb::StartTls:
      if (!rest.empty()) return syntax_error("Syntax error: no parameters allowed");
      break;
    case Verb::Helo:
    case Verb::Ehlo:
      if (argument.empty() || argument.front() == ' ') return syntax_error("Syntax: EHLO domain");
      break;
    case Verb::Auth:
      if (argument.empty() || argument.front() == ' ') return syntax_error("Syntax: AUTH mechanism");
      break;
    default:
      break;
  }
  cmd.argument = std::string(argument);
  return cmd;
}

}  // namespace dkr::relay
