#include <doctest/doctest.h>

#include "keystore/dns_record.hpp"
#include "keystore/domain_name.hpp"
#include "selector_pattern.hpp"

#include <set>

using namespace dkr::keystore;

TEST_CASE("punycode_encode matches RFC 3492 section 7.1 samples") {
  // (A) Arabic (Egyptian)
  CHECK(*punycode_encode(U"\u0644\u064A\u0647\u0645\u0627\u0628\u062A\u0643\u0644\u0645\u0648"
                         U"\u0634\u0639\u0631\u0628\u064A\u061F") == "egbpdaj6bu4bxfgehfvwxn");
  // (B) Chinese (simplified)
  CHECK(*punycode_encode(U"\u4ED6\u4EEC\u4E3A\u4EC0\u4E48\u4E0D\u8BF4\u4E2D\u6587") == "ihqwcrb4cv8a8dqg056pqjye");
  // (L) 3<nen>B<gumi><kinpachi><sensei>: basic code points keep their case
  CHECK(*punycode_encode(U"3\u5E74B\u7D44\u91D1\u516B\u5148\u751F") == "3B-ww4c5e180e575a65lsy2b");
  CHECK(*punycode_encode(U"b\u00FCcher") == "bcher-kva");
  CHECK(*punycode_encode(U"m\u00FCnchen") == "mnchen-3ya");
}

TEST_CASE("punycode_decode reverses the RFC 3492 samples and refuses what is not Punycode") {
  CHECK(*punycode_decode("egbpdaj6bu4bxfgehfvwxn") ==
        U"\u0644\u064A\u0647\u0645\u0627\u0628\u062A\u0643\u0644\u0645\u0648"
        U"\u0634\u0639\u0631\u0628\u064A\u061F");
  CHECK(*punycode_decode("ihqwcrb4cv8a8dqg056pqjye") == U"\u4ED6\u4EEC\u4E3A\u4EC0\u4E48\u4E0D\u8BF4\u4E2D\u6587");
  CHECK(*punycode_decode("3B-ww4c5e180e575a65lsy2b") == U"3\u5E74B\u7D44\u91D1\u516B\u5148\u751F");
  CHECK(*punycode_decode("bcher-kva") == U"b\u00FCcher");
  CHECK_FALSE(punycode_decode("zz"));        // past U+10FFFF
  CHECK_FALSE(punycode_decode("99999999"));  // 32-bit overflow
  CHECK_FALSE(punycode_decode("0"));         // truncated
  CHECK_FALSE(punycode_decode("a!b"));       // not a digit
}

TEST_CASE("xn-- labels must be valid Punycode of a non-ASCII label") {
  CHECK(validate_domain("xn--bcher-kva.example"));
  CHECK_FALSE(validate_domain("xn--zz.example"));
  CHECK_FALSE(validate_domain("xn--0.example"));
  CHECK_FALSE(normalize_domain("XN--ZZ.example"));
  CHECK(validate_domain("xn-x.example"));  // not the ACE prefix
}

TEST_CASE("normalize_domain lowercases, strips the root dot and converts U-labels") {
  CHECK(*normalize_domain("Example.COM.") == "example.com");
  CHECK(*normalize_domain("b\xC3\xBC"
                          "cher.example") == "xn--bcher-kva.example");
  CHECK(*normalize_domain("B\xC3\x9C"
                          "CHER.Example") == "xn--bcher-kva.example");  // "BÜCHER"
  CHECK(*normalize_domain("xn--bcher-kva.example") == "xn--bcher-kva.example");
  CHECK(*normalize_domain("\xD0\xBF\xD1\x80\xD0\xB0\xD0\xB2\xD0\xB8\xD1\x82\xD0\xB5\xD0\xBB\xD1\x8C"
                          "\xD1\x81\xD1\x82\xD0\xB2\xD0\xBE.rf") == "xn--80aealotwbjpid2k.rf");
}

TEST_CASE("normalize_domain refuses names that are not host names") {
  CHECK_FALSE(normalize_domain(""));
  CHECK_FALSE(normalize_domain("com"));  // needs two labels
  CHECK_FALSE(normalize_domain("a..example"));
  CHECK_FALSE(normalize_domain("-a.example"));
  CHECK_FALSE(normalize_domain("a-.example"));
  CHECK_FALSE(normalize_domain("under_score.example"));
  CHECK_FALSE(normalize_domain("sp ace.example"));
  CHECK_FALSE(normalize_domain(std::string(64, 'a') + ".example"));
  CHECK(normalize_domain(std::string(63, 'a') + ".example"));
  std::string long_name;
  for (int i = 0; i < 4; ++i) long_name += std::string(62, 'a') + ".";
  long_name += "com";  // 4 * 63 + 3 = 255 bytes
  CHECK_FALSE(normalize_domain(long_name));
  CHECK_FALSE(normalize_domain("\xC3(bad.example"));       // invalid UTF-8
  CHECK_FALSE(normalize_domain("\xED\xA0\x80x.example"));  // surrogate
  const auto error = normalize_domain("a_b.example");
  REQUIRE_FALSE(error);
  CHECK(error.error().message.find("a_b.example") != std::string::npos);
}

TEST_CASE("normalize_selector accepts [a-z0-9][a-z0-9-_.]* with labels up to 63 bytes") {
  CHECK(*normalize_selector("S2026a") == "s2026a");
  CHECK(*normalize_selector("mail_2024.eu-1") == "mail_2024.eu-1");
  CHECK_FALSE(normalize_selector(""));
  CHECK_FALSE(normalize_selector("-x"));
  CHECK_FALSE(normalize_selector("_x"));
  CHECK_FALSE(normalize_selector("a..b"));
  CHECK_FALSE(normalize_selector(".a"));
  CHECK_FALSE(normalize_selector("a/b"));
  CHECK_FALSE(normalize_selector("../etc"));
  CHECK_FALSE(normalize_selector(std::string(64, 'a')));
  CHECK(normalize_selector(std::string(63, 'a')));
}

TEST_CASE("selector pattern expands strftime in UTC and the first unused {seq}") {
  CHECK(sequence_label(0) == "a");
  CHECK(sequence_label(25) == "z");
  CHECK(sequence_label(26) == "aa");
  CHECK(sequence_label(27) == "ab");
  CHECK(sequence_label(26 + 26 * 26) == "aaa");
  const std::int64_t november_2026 = 1'795'000'000;  // 2026-11-18T... UTC
  std::set<std::string> taken = {"s202611a", "s202611b"};
  auto next = next_selector("s%Y%m{seq}", november_2026, [&](const std::string& s) { return taken.contains(s); });
  REQUIRE(next);
  CHECK(*next == "s202611c");
  auto fixed = next_selector("mail", november_2026, [](const std::string&) { return true; });
  CHECK_FALSE(fixed);
  CHECK(*next_selector("Mail%Y", november_2026, [](const std::string&) { return false; }) == "mail2026");
}

TEST_CASE("zone file line splits the TXT value into 255-byte character-strings") {
  const std::string value = "v=DKIM1; k=rsa; p=" + std::string(400, 'A');
  const auto chunks = split_txt_value(value);
  REQUIRE(chunks.size() == 2);
  CHECK(chunks[0].size() == 255);
  CHECK(chunks[0] + chunks[1] == value);
  const std::string line = zone_file_txt_line("example.com", "s1", value);
  CHECK(line == "s1._domainkey.example.com. 3600 IN TXT ( \"" + chunks[0] + "\" \"" + chunks[1] + "\" )");
  CHECK(zone_file_txt_line("example.com.", "s1", "v=DKIM1; p=", 300) ==
        "s1._domainkey.example.com. 300 IN TXT ( \"v=DKIM1; p=\" )");
  CHECK(split_txt_value(std::string(510, 'x')).size() == 2);
  CHECK(split_txt_value(std::string(511, 'x')).size() == 3);
}

TEST_CASE("delegation records: customer CNAME into the operator's zone, TXT hosted there") {
  const auto records = delegated_records("customer.com", "s1", "v=DKIM1; k=ed25519; p=abc", "dkim.esp.example");
  CHECK(records.target_name == "s1.customer.com.dkim.esp.example.");
  CHECK(records.customer_cname == "s1._domainkey.customer.com. 3600 IN CNAME s1.customer.com.dkim.esp.example.");
  CHECK(records.operator_txt == "s1.customer.com.dkim.esp.example. 3600 IN TXT ( \"v=DKIM1; k=ed25519; p=abc\" )");
}
