#include <doctest/doctest.h>

#include "signer/from_domain.hpp"

using namespace dkr::signer;

namespace {

std::string domain_of(std::string_view from_value) {
  auto result = extract_from_domain("Subject: x\r\nFrom:" + std::string(from_value) + "\r\nTo: y@z.example\r\n\r\n");
  INFO(from_value);
  if (!result.ok()) FAIL(result.error().message);
  return *result;
}

bool refused(std::string_view from_value) {
  return !extract_from_domain("From:" + std::string(from_value) + "\r\n\r\n").ok();
}

}  // namespace

TEST_CASE("RFC 5322 mailbox forms") {
  CHECK(domain_of(" alice@example.com") == "example.com");
  CHECK(domain_of(" Alice <alice@Example.COM>") == "example.com");
  CHECK(domain_of(" \"Alice Liddell\" <alice@example.com>") == "example.com");
  CHECK(domain_of(" \"Smith, John\" <john@smith.example>") == "smith.example");
  CHECK(domain_of(" \"evil@attacker.example\" <real@good.example>") == "good.example");
  CHECK(domain_of(" \"<evil@attacker.example>\" <real@good.example>") == "good.example");
  CHECK(domain_of(" John Q. Public <jqp@public.example>") == "public.example");
  CHECK(domain_of(" <bare@angle.example>") == "angle.example");
  CHECK(domain_of(" alice@example.com (Alice)") == "example.com");
  CHECK(domain_of(" (comment evil@attacker.example) alice@example.com") == "example.com");
  CHECK(domain_of(" Alice (nested (evil@attacker.example) comment) <alice@example.com>") == "example.com");
  CHECK(domain_of(" alice @ example . com") == "example.com");  // obs CFWS around tokens
  CHECK(domain_of(" \"quoted local\"@quoted.example") == "quoted.example");
  CHECK(domain_of(" \"a@b\"@quoted.example") == "quoted.example");
  CHECK(domain_of(" Alice\r\n <alice@folded.example>") == "folded.example");
  CHECK(domain_of(" =?utf-8?q?Alice_Smith?= <alice@encoded.example>") == "encoded.example");
  CHECK(domain_of(" =?utf-8?b?ZXZpbEBhdHRhY2tlci5leGFtcGxl?= <real@good.example>") == "good.example");
  CHECK(domain_of(" J\xc3\xb6rg <joerg@b\xc3\xbc"
                  "cher.example>") ==
        "b\xc3\xbc"
        "cher.example");
  CHECK(domain_of(" \"escaped \\\" quote <evil@x.example>\" <real@good.example>") == "good.example");
}

TEST_CASE("field name matching: case, whitespace before the colon, folded continuation lines") {
  CHECK(extract_from_domain("FROM: a@upper.example\r\n\r\n").value() == "upper.example");
  CHECK(extract_from_domain("from : a@space.example\r\n\r\n").value() == "space.example");
  CHECK(extract_from_domain("From:\r\n a@folded.example\r\n\r\n").value() == "folded.example");
  CHECK(extract_from_domain("X-From: a@x.example\r\nFrom: b@real.example\r\n\r\n").value() == "real.example");
  CHECK(extract_from_domain("Subject: a\r\n From: b@continuation.example\r\nFrom: c@real.example\r\n\r\n").value() ==
        "real.example");
  // Header section given without the empty line, or with the body after it.
  CHECK(extract_from_domain("From: a@nobody.example\r\n").value() == "nobody.example");
  CHECK(extract_from_domain("From: a@b.example\r\n\r\nFrom: c@body.example\r\n").value() == "b.example");
}

TEST_CASE("ambiguous or missing authors are refused") {
  CHECK_FALSE(extract_from_domain("Subject: no from\r\n\r\n").ok());
  CHECK_FALSE(extract_from_domain("From: a@one.example\r\nFrom: b@two.example\r\n\r\n").ok());
  CHECK_FALSE(extract_from_domain("From: a@one.example\r\nfrom : b@two.example\r\n\r\n").ok());
  CHECK(refused(" a@one.example, b@two.example"));
  CHECK(refused(" A <a@one.example>, B <b@two.example>"));
  CHECK(refused(" a@one.example,"));
  CHECK(refused(" ,a@one.example"));
  CHECK(refused(" Group: a@one.example;"));
  CHECK(refused(" undisclosed-recipients:;"));
  CHECK(refused(""));
  CHECK(refused(" "));
  CHECK(refused(" alice"));
  CHECK(refused(" <alice>"));
  CHECK(refused(" a@[192.0.2.1]"));
  CHECK(refused(" evil@attacker.example <real@good.example>"));  // unquoted @ in display name
  CHECK(refused(" <a@one.example> <b@two.example>"));
  CHECK(refused(" <a@one.example"));
  CHECK(refused(" a@one.example>"));
  CHECK(refused(" <<a@one.example>>"));
  CHECK(refused(" <@route.example:a@one.example>"));
  CHECK(refused(" \"unterminated <a@one.example>"));
  CHECK(refused(" (unterminated a@one.example"));
  CHECK(refused(" a@one..example"));
  CHECK(refused(" a@one.example."));
  CHECK(refused(" a@b@c.example"));
  CHECK(refused(" a@"));
  CHECK(refused(" @b.example"));
  CHECK(refused(" a@one.example extra"));
}
