#include <doctest/doctest.h>

#include "upstream/upstream_extensions.hpp"

using dkr::upstream::parse_ehlo_reply;
using dkr::upstream::SmtpReply;

TEST_SUITE("unit") {
  TEST_CASE("EHLO keywords") {
    SmtpReply ehlo{250,
                   {"mx.example hello", "PIPELINING", "size 35882577", "STARTTLS", "AUTH PLAIN login", "AUTH=CRAM-MD5",
                    "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES"}};
    const auto ext = parse_ehlo_reply(ehlo);
    CHECK(ext.pipelining);
    CHECK(ext.starttls);
    CHECK(ext.smtputf8);
    CHECK(ext.eightbitmime);
    REQUIRE(ext.size.has_value());
    CHECK(*ext.size == 35882577);
    CHECK(ext.offers_auth("plain"));
    CHECK(ext.offers_auth("LOGIN"));
    CHECK(ext.offers_auth("CRAM-MD5"));
    CHECK_FALSE(ext.offers_auth("XOAUTH2"));
  }

  TEST_CASE("the greeting line is not a keyword; nothing offered means nothing") {
    const auto ext = parse_ehlo_reply(SmtpReply{250, {"STARTTLS"}});
    CHECK_FALSE(ext.starttls);
    CHECK_FALSE(ext.size.has_value());
    CHECK(ext.auth_mechanisms.empty());
    SmtpReply size_only{250, {"x", "SIZE"}};
    CHECK(parse_ehlo_reply(size_only).size == std::optional<std::uint64_t>(0));
  }

}  // TEST_SUITE

// Issue 24 item 9: an upstream that does not advertise AUTH rejects MAIL ... AUTH= with 555.
TEST_CASE("AUTH= is dropped from MAIL FROM for an upstream that does not advertise AUTH") {
  dkr::upstream::UpstreamExtensions without;
  dkr::upstream::UpstreamExtensions with;
  with.auth_mechanisms = {"PLAIN"};
  using dkr::upstream::for_upstream;
  CHECK(for_upstream("MAIL FROM:<a@example.com> AUTH=app", without) == "MAIL FROM:<a@example.com>");
  CHECK(for_upstream("MAIL FROM:<a@example.com> BODY=8BITMIME AUTH=<> SIZE=10", without) ==
        "MAIL FROM:<a@example.com> BODY=8BITMIME SIZE=10");
  CHECK(for_upstream("mail from:<a@example.com> auth=x+40y", without) == "mail from:<a@example.com>");
  CHECK(for_upstream("MAIL FROM:<a@example.com> AUTH=app", with) == "MAIL FROM:<a@example.com> AUTH=app");
  CHECK(for_upstream("RCPT TO:<AUTH=x@example.com>", without) == "RCPT TO:<AUTH=x@example.com>");
  CHECK(for_upstream("MAIL FROM:<a@example.com> BODY=7BIT", without) == "MAIL FROM:<a@example.com> BODY=7BIT");
}
