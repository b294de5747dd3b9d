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
