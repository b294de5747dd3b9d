#include <doctest/doctest.h>

#include "relay/smtp_command.hpp"

using namespace dkr::relay;

namespace {

SmtpCommand ok(std::string_view line) {
  auto parsed = parse_command(line);
  INFO(line);
  REQUIRE(std::holds_alternative<SmtpCommand>(parsed));
  return std::get<SmtpCommand>(parsed);
}

int error_code(std::string_view line) {
  auto parsed = parse_command(line);
  INFO(line);
  REQUIRE(std::holds_alternative<SmtpReply>(parsed));
  return std::get<SmtpReply>(parsed).code;
}

std::string error_text(std::string_view line) {
  auto parsed = parse_command(line);
  REQUIRE(std::holds_alternative<SmtpReply>(parsed));
  return std::get<SmtpReply>(parsed).lines.at(0);
}

}  // namespace

TEST_CASE("verbs are case-insensitive and unknown verbs are 500 5.5.1") {
  CHECK(ok("ehlo client.example").verb == Verb::Ehlo);
  CHECK(ok("EhLo client.example").argument == "client.example");
  CHECK(ok("HELO x").verb == Verb::Helo);
  CHECK(ok("data").verb == Verb::Data);
  CHECK(ok("RSET").verb == Verb::Rset);
  CHECK(ok("NOOP anything at all").verb == Verb::Noop);
  CHECK(ok("quit").verb == Verb::Quit);
  CHECK(ok("StartTLS").verb == Verb::StartTls);
  CHECK(ok("AUTH PLAIN AGFwcABzZWNyZXQ=").argument == "PLAIN AGFwcABzZWNyZXQ=");
  CHECK(ok("VRFY postmaster").verb == Verb::Vrfy);
  CHECK(ok("EXPN list").verb == Verb::Expn);
  CHECK(ok("HELP").verb == Verb::Help);
  CHECK(error_code("BDAT 100 LAST") == 500);
  CHECK(error_text("XYZZY").starts_with("5.5.1"));
  CHECK(error_code("") == 500);
  CHECK(error_code("MAILFROM:<a@b.example>") == 500);
}

TEST_CASE("commands without parameters refuse them, HELO/EHLO/AUTH need one") {
  CHECK(error_code("DATA x") == 501);
  CHECK(error_code("RSET now") == 501);
  CHECK(error_code("QUIT bye") == 501);
  CHECK(error_code("STARTTLS x") == 501);
  CHECK(error_code("EHLO") == 501);
  CHECK(error_code("EHLO ") == 501);
  CHECK(error_code("HELO") == 501);
  CHECK(error_code("AUTH") == 501);
}

TEST_CASE("control characters in a command line are a syntax error") {
  CHECK(error_code(std::string_view("MAIL FROM:<a@b.example>\r", 24)) == 500);
  CHECK(error_code(std::string("NOOP \0", 6)) == 500);
  CHECK(error_code("NOOP \x7f") == 500);
}

TEST_CASE("MAIL FROM paths and parameters") {
  auto cmd = ok("MAIL FROM:<alice@example.com>");
  CHECK(cmd.verb == Verb::Mail);
  CHECK(cmd.address == "alice@example.com");
  CHECK(cmd.argument == "<alice@example.com>");
  CHECK_FALSE(cmd.mail.size.has_value());
  CHECK(cmd.mail.body == BodyType::Unspecified);

  CHECK(ok("mail from:<>").address.empty());
  CHECK(ok("MAIL FROM: <a@b.example>").argument == "<a@b.example>");

  cmd = ok("MAIL FROM:<a@b.example> SIZE=12345 BODY=8BITMIME SMTPUTF8");
  CHECK(cmd.mail.size == 12345u);
  CHECK(cmd.mail.body == BodyType::EightBitMime);
  CHECK(cmd.mail.smtputf8);
  CHECK(cmd.argument == "<a@b.example> SIZE=12345 BODY=8BITMIME SMTPUTF8");
  CHECK(ok("MAIL FROM:<a@b.example> body=7bit").mail.body == BodyType::SevenBit);
  CHECK(ok("MAIL FROM:<a@b.example> SIZE=99999999999999999999999").mail.size == UINT64_MAX);
  CHECK(ok("MAIL FROM:<a@b.example> AUTH=<>").verb == Verb::Mail);

  CHECK(error_code("MAIL FROM:<a@b.example> SIZE=12x") == 501);
  CHECK(error_code("MAIL FROM:<a@b.example> SIZE=") == 501);
  CHECK(error_code("MAIL FROM:<a@b.example> SIZE=1 SIZE=2") == 501);
  CHECK(error_code("MAIL FROM:<a@b.example> BODY=BINARYMIME") == 555);
  CHECK(error_code("MAIL FROM:<a@b.example> SMTPUTF8=yes") == 501);
  CHECK(error_code("MAIL FROM:<a@b.example> RET=FULL") == 555);
  CHECK(error_code("MAIL FROM:<a@b.example>  SIZE=1") == 501);  // double space
  CHECK(error_code("MAIL FROM:<a@b.example>SIZE=1") == 501);
  CHECK(error_code("MAIL TO:<a@b.example>") == 501);
  CHECK(error_code("MAIL FROM:a@b.example") == 501);
  CHECK(error_text("MAIL FROM:a@b.example").starts_with("5.1.7"));
  CHECK(error_code("MAIL FROM:<a@b.example") == 501);
  CHECK(error_code("MAIL FROM:<@relay.example:a@b.example>") == 501);
  CHECK(error_code("MAIL FROM") == 501);
}

TEST_CASE("mailbox syntax") {
  CHECK(ok("RCPT TO:<first.last+tag@sub.example.com>").address == "first.last+tag@sub.example.com");
  CHECK(ok("RCPT TO:<\"john doe\"@example.com>").address == "\"john doe\"@example.com");
  CHECK(ok("RCPT TO:<\"a>b\"@example.com>").address == "\"a>b\"@example.com");
  CHECK(ok("RCPT TO:<\"a\\\"b\"@example.com>").address == "\"a\\\"b\"@example.com");
  CHECK(ok("RCPT TO:<user@[192.0.2.1]>").address == "user@[192.0.2.1]");
  CHECK(ok("RCPT TO:<Postmaster>").address == "Postmaster");
  CHECK(ok("RCPT TO:<postmaster@example.com>").verb == Verb::Rcpt);
  auto utf8 =
      ok("RCPT TO:<j\xc3\xb6rg@b\xc3\xbc"
         "cher.example>");
  CHECK(utf8.non_ascii_address);
  CHECK_FALSE(ok("RCPT TO:<a@b.example>").non_ascii_address);

  CHECK(error_code("RCPT TO:<>") == 501);
  CHECK(error_code("RCPT TO:<a@>") == 501);
  CHECK(error_code("RCPT TO:<@b.example>") == 501);
  CHECK(error_code("RCPT TO:<a..b@c.example>") == 501);
  CHECK(error_code("RCPT TO:<.a@c.example>") == 501);
  CHECK(error_code("RCPT TO:<a.@c.example>") == 501);
  CHECK(error_code("RCPT TO:<a b@c.example>") == 501);
  CHECK(error_code("RCPT TO:<a@-c.example>") == 501);
  CHECK(error_code("RCPT TO:<a@c..example>") == 501);
  CHECK(error_code("RCPT TO:<a@c.example.>") == 501);
  CHECK(error_code("RCPT TO:<a@c_d.example>") == 501);
  CHECK(error_code("RCPT TO:<a@b@c.example>") == 501);
  CHECK(error_code("RCPT TO:<\"unterminated@c.example>") == 501);
  CHECK(error_code("RCPT TO:<a@b.example> NOTIFY=NEVER") == 555);
  CHECK(error_text("RCPT TO:<x>").starts_with("5.1.3"));
  std::string long_local(65, 'a');
  CHECK(error_code("RCPT TO:<" + long_local + "@c.example>") == 501);
  CHECK(ok("RCPT TO:<" + long_local.substr(1) + "@c.example>").verb == Verb::Rcpt);
  std::string long_label(64, 'b');
  CHECK(error_code("RCPT TO:<a@" + long_label + ".example>") == 501);
  std::string long_domain;
  for (int i = 0; i < 30; ++i) long_domain += "abcdefgh.";
  CHECK(error_code("RCPT TO:<a@" + long_domain + "example>") == 501);  // path > 256
}
