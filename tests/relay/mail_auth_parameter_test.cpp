// RFC 4954 §5: the client's AUTH= MAIL parameter is replaced before MAIL goes upstream.
#include <doctest/doctest.h>

#include <string>
#include <variant>

#include "relay/mail_auth_parameter.hpp"

using namespace dkr::relay;

namespace {

SmtpCommand mail(std::string_view line) {
  auto parsed = parse_command(line);
  REQUIRE(std::holds_alternative<SmtpCommand>(parsed));
  return std::get<SmtpCommand>(parsed);
}

}  // namespace

TEST_CASE("xtext encodes '+', '=', spaces and non-ASCII as +XX (RFC 3461 §4)") {
  CHECK(xtext_encode("app@example.com") == "app@example.com");
  CHECK(xtext_encode("a+b=c d") == "a+2Bb+3Dc+20d");
  CHECK(xtext_encode("\xC3\xA9") == "+C3+A9");
}

TEST_CASE("without AUTH= the MAIL arguments pass unchanged") {
  CHECK(upstream_mail_arguments(mail("MAIL FROM:<a@example.com> SIZE=10 BODY=8BITMIME"), std::nullopt) ==
        "<a@example.com> SIZE=10 BODY=8BITMIME");
  CHECK(upstream_mail_arguments(mail("MAIL FROM:<a@example.com>"), std::string("user")) == "<a@example.com>");
}

TEST_CASE("a client's AUTH= becomes AUTH=<> when it did not authenticate") {
  CHECK(upstream_mail_arguments(mail("MAIL FROM:<a@example.com> AUTH=ceo@other.test SIZE=10"), std::nullopt) ==
        "<a@example.com> AUTH=<> SIZE=10");
  CHECK(upstream_mail_arguments(mail("MAIL FROM:<> auth=x"), std::nullopt) == "<> AUTH=<>");
}

TEST_CASE("a client's AUTH= becomes the authenticated identity, xtext-encoded") {
  CHECK(upstream_mail_arguments(mail("MAIL FROM:<a@example.com> SIZE=10 AUTH=forged@x.test"),
                                std::string("app+1@example.com")) ==
        "<a@example.com> SIZE=10 AUTH=app+2B1@example.com");
}

TEST_CASE("an AUTH= look-alike inside a quoted local part is part of the path") {
  CHECK(upstream_mail_arguments(mail(R"(MAIL FROM:<"x AUTH=y"@example.com> AUTH=z)"), std::nullopt) ==
        R"(<"x AUTH=y"@example.com> AUTH=<>)");
}
