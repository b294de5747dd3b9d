// Published test vectors: RFC 6376 §3.4.5 canonicalization examples and the RFC 8463 Appendix A
// keys and signed message. Every expected value here comes from the RFCs (cross-checked with
// openssl and dkimpy outside this code), never from the code under test.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "signer/signer.hpp"

namespace {

using namespace dkr::signer;

// ---------------------------------------------------------------- RFC 6376 §3.4.5
// The RFC writes the example with <SP>, <HTAB> and <CRLF> markers:
//   A: <SP> X <CRLF>
//   B <SP> : <SP> Y <HTAB><CRLF>
//                   <HTAB> Z <SP><SP><CRLF>
//   <CRLF>
//   <SP> C <SP><CRLF>
//   D <SP><HTAB><SP> E <CRLF>
//   <CRLF>
//   <CRLF>
constexpr std::string_view kExampleFieldA = "A: X";
constexpr std::string_view kExampleFieldB = "B : Y\t\r\n\tZ  ";
constexpr std::string_view kExampleBody = " C \r\nD \t E\r\n\r\n\r\n";
constexpr std::string_view kExampleMessage = "A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n";

// The SHA-256 of an empty body, RFC 6376 §3.4.3 (simple: canonicalized to one CRLF) and §3.4.4
// (relaxed: canonicalized to nothing).
constexpr std::string_view kEmptySimpleBodyHash = "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=";
constexpr std::string_view kEmptyRelaxedBodyHash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

std::string b64(const Sha256Digest& digest) {
  return base64_encode(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

std::string hash_body(Canon canon, std::string_view body, std::size_t chunk) {
  BodyHasher hasher(canon);
  for (std::size_t i = 0; i < body.size(); i += chunk) hasher.update(body.substr(i, chunk));
  return b64(hasher.finish());
}

// ---------------------------------------------------------------- RFC 8463 Appendix A
// A.1: the Ed25519 secret key is the raw 32-byte seed nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=;
// as PKCS#8 it is that seed behind the fixed prefix 302e020100300506032b657004220420.
constexpr std::string_view kEd25519Pem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";
constexpr std::string_view kRsaPem =
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIICXQIBAAKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQi\n"
    "Y/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqM\n"
    "KrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB\n"
    "AoGAH0cxOhFZDgzXWhDhnAJDw5s4roOXN4OhjiXa8W7Y3rhX3FJqmJSPuC8N9vQm\n"
    "6SVbaLAE4SG5mLMueHlh4KXffEpuLEiNp9Ss3O4YfLiQpbRqE7Tm5SxKjvvQoZZe\n"
    "zHorimOaChRL2it47iuWxzxSiRMv4c+j70GiWdxXnxe4UoECQQDzJB/0U58W7RZy\n"
    "6enGVj2kWF732CoWFZWzi1FicudrBFoy63QwcowpoCazKtvZGMNlPWnC7x/6o8Gc\n"
    "uSe0ga2xAkEA8C7PipPm1/1fTRQvj1o/dDmZp243044ZNyxjg+/OPN0oWCbXIGxy\n"
    "WvmZbXriOWoSALJTjExEgraHEgnXssuk7QJBALl5ICsYMu6hMxO73gnfNayNgPxd\n"
    "WFV6Z7ULnKyV7HSVYF0hgYOHjeYe9gaMtiJYoo0zGN+L3AAtNP9huqkWlzECQE1a\n"
    "licIeVlo1e+qJ6Mgqr0Q7Aa7falZ448ccbSFYEPD6oFxiOl9Y9se9iYHZKKfIcst\n"
    "o7DUw1/hz2Ck4N5JrgUCQQCyKveNvjzkkd8HjYs0SwM0fPjK16//5qDZ2UiDGnOe\n"
    "uEzxBDAr518Z8VFbR41in3W4Y3yCDgQlLlcETrS+zYcL\n"
    "-----END RSA PRIVATE KEY-----\n";

// A.2: the published DNS key records.
constexpr std::string_view kEd25519Public = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
constexpr std::string_view kRsaPublic =
    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/"
    "byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+"
    "2kryOTIKT+l/K4w3QIDAQAB";

// A.3: the signed message.
constexpr std::string_view kEd25519SignatureField =
    "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
    " d=football.example.com; i=@football.example.com;\r\n"
    " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
    " subject : date : message-id : from : subject : date;\r\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    " b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
    " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n";
constexpr std::string_view kRsaSignatureField =
    "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
    " d=football.example.com; i=@football.example.com;\r\n"
    " q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n"
    " date : message-id : from : subject : date;\r\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    " b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r\n"
    " DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r\n"
    " dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=\r\n";
constexpr std::string_view kUnsignedMessage =
    "From: Joe SixPack <joe@football.example.com>\r\n"
    "To: Suzie Q <suzie@shopping.example.net>\r\n"
    "Subject: Is dinner ready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
    "\r\n"
    "Hi.\r\n"
    "\r\n"
    "We lost the game.  Are you hungry yet?\r\n"
    "\r\n"
    "Joe.\r\n";
constexpr std::string_view kBody = "Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n";
constexpr std::string_view kRelaxedBody = "Hi.\r\n\r\nWe lost the game. Are you hungry yet?\r\n\r\nJoe.\r\n";
constexpr std::string_view kRfcBodyHash = "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=";
// Not in RFC 8463 (it signs relaxed only): SHA-256 of kBody as is, computed with openssl dgst.
constexpr std::string_view kSimpleBodyHash = "4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=";
constexpr std::string_view kEd25519B =
    "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==";
constexpr std::string_view kRsaB =
    "F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgee"
    "fOsk2JzdA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=";

// RFC 6376 §3.7: the data that is signed, written out by hand: the signed header fields present in
// the message (relaxed), then the DKIM-Signature field with an empty b= and no final CRLF.
// Absent instances named in h= (the second from, subject, date) contribute nothing.
constexpr std::string_view kCanonicalHeaders =
    "from:Joe SixPack <joe@football.example.com>\r\n"
    "to:Suzie Q <suzie@shopping.example.net>\r\n"
    "subject:Is dinner ready?\r\n"
    "date:Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    "message-id:<20030712040037.46341.5F8J@football.example.com>\r\n";
// The RFC folds the two fields' h= at different places; relaxed canonicalization turns each fold
// into one SP, so both read "h=from : to : subject : ...".
std::string signed_data(std::string_view algorithm, std::string_view selector) {
  return std::string(kCanonicalHeaders) + "dkim-signature:v=1; a=" + std::string(algorithm) +
         "; c=relaxed/relaxed; d=football.example.com; i=@football.example.com; q=dns/txt; s=" + std::string(selector) +
         "; t=1528637909; h=from : to : subject : date : message-id : from : subject : date; "
         "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=";
}

// The field with the b= value removed, as RFC 6376 §3.7 says the verifier hashes it.
std::string without_b_value(std::string_view field) {
  const auto pos = field.find(" b=");
  REQUIRE(pos != std::string_view::npos);
  // The RFC's b= is the last tag, so everything after "b=" is its value.
  return std::string(field.substr(0, pos + 3));
}

SigningKey load(std::string_view pem, KeyPolicy policy = {}) {
  auto key = SigningKey::from_pem(pem, policy);
  REQUIRE_MESSAGE(key.ok(), (key.ok() ? std::string() : key.error().message));
  return std::move(key).value();
}

std::map<std::string, std::string> parse_tags(std::string_view field) {
  std::map<std::string, std::string> tags;
  const auto colon = field.find(':');
  std::string value(field.substr(colon + 1));
  std::size_t start = 0;
  while (start <= value.size()) {
    auto end = value.find(';', start);
    if (end == std::string::npos) end = value.size();
    std::string part = value.substr(start, end - start);
    const auto eq = part.find('=');
    if (eq != std::string::npos) {
      std::string name, val;
      for (char c : part.substr(0, eq))
        if (!std::isspace(static_cast<unsigned char>(c))) name += c;
      for (char c : part.substr(eq + 1))
        if (!std::isspace(static_cast<unsigned char>(c))) val += c;
      tags[name] = val;
    }
    start = end + 1;
  }
  return tags;
}

std::vector<std::string> split_h(const std::string& h) {
  std::vector<std::string> names;
  std::size_t start = 0;
  while (start <= h.size()) {
    auto end = h.find(':', start);
    if (end == std::string::npos) end = h.size();
    std::string name = h.substr(start, end - start);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    names.push_back(name);
    start = end + 1;
  }
  return names;
}

KeyLookup rfc_keys() {
  return [](std::string_view selector, std::string_view domain) -> dkr::Result<std::string> {
    if (domain != "football.example.com") return dkr::make_error("no such domain");
    if (selector == "brisbane") return std::string("v=DKIM1; k=ed25519; p=") + std::string(kEd25519Public);
    if (selector == "test") return std::string("v=DKIM1; k=rsa; p=") + std::string(kRsaPublic);
    return dkr::make_error("no such selector");
  };
}

std::string rfc_signed_message() {
  return std::string(kEd25519SignatureField) + std::string(kRsaSignatureField) + std::string(kUnsignedMessage);
}

}  // namespace

TEST_SUITE("rfc6376 canonicalization examples (3.4.5)") {
  TEST_CASE("example 1: relaxed header fields") {
    CHECK(canonicalize_header(Canon::Relaxed, kExampleFieldA) == "a:X\r\n");
    CHECK(canonicalize_header(Canon::Relaxed, kExampleFieldB) == "b:Y Z\r\n");
  }

  TEST_CASE("example 1: relaxed body") { CHECK(canonicalize_body(Canon::Relaxed, kExampleBody) == " C\r\nD E\r\n"); }

  TEST_CASE("example 2: simple header fields are unchanged") {
    CHECK(canonicalize_header(Canon::Simple, kExampleFieldA) == "A: X\r\n");
    CHECK(canonicalize_header(Canon::Simple, kExampleFieldB) == "B : Y\t\r\n\tZ  \r\n");
  }

  TEST_CASE("example 2 and 3: simple body") {
    CHECK(canonicalize_body(Canon::Simple, kExampleBody) == " C \r\nD \t E\r\n");
  }

  TEST_CASE("the example message splits into the two fields and the body") {
    const SplitMessage split = split_message(kExampleMessage);
    REQUIRE(split.headers.size() == 2);
    CHECK(split.has_separator);
    CHECK(split.headers[0].raw == kExampleFieldA);
    CHECK(split.headers[1].raw == kExampleFieldB);
    CHECK(split.body == kExampleBody);
    CHECK(canonicalize_header(Canon::Relaxed, split.headers[1].raw) == "b:Y Z\r\n");
  }

  TEST_CASE("the example body hashes the same in any chunking") {
    for (std::size_t chunk : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7}, kExampleBody.size()}) {
      CAPTURE(chunk);
      CHECK(hash_body(Canon::Relaxed, kExampleBody, chunk) == b64(sha256(" C\r\nD E\r\n")));
      CHECK(hash_body(Canon::Simple, kExampleBody, chunk) == b64(sha256(" C \r\nD \t E\r\n")));
    }
  }

  TEST_CASE("empty body hashes (3.4.3, 3.4.4)") {
    CHECK(canonicalize_body(Canon::Simple, "") == "\r\n");
    CHECK(canonicalize_body(Canon::Relaxed, "") == "");
    CHECK(hash_body(Canon::Simple, "", 1) == kEmptySimpleBodyHash);
    CHECK(hash_body(Canon::Relaxed, "", 1) == kEmptyRelaxedBodyHash);
    // Trailing empty lines alone are an empty body too.
    CHECK(hash_body(Canon::Simple, "\r\n\r\n\r\n", 1) == kEmptySimpleBodyHash);
    CHECK(hash_body(Canon::Relaxed, "\r\n\r\n\r\n", 1) == kEmptyRelaxedBodyHash);
  }
}

TEST_SUITE("rfc8463 appendix A") {
  TEST_CASE("A.1 keys load and give the A.2 public keys") {
    const SigningKey ed = load(kEd25519Pem);
    CHECK(ed.algorithm() == Algorithm::Ed25519Sha256);
    CHECK(ed.public_key_base64() == kEd25519Public);

    // The RFC's RSA key is 1024 bits: refused by default, accepted when weak keys are allowed.
    CHECK_FALSE(SigningKey::from_pem(kRsaPem).ok());
    const SigningKey rsa = load(kRsaPem, KeyPolicy{.allow_weak_rsa = true});
    CHECK(rsa.algorithm() == Algorithm::RsaSha256);
    CHECK(rsa.bits() == 1024);
    CHECK(rsa.public_key_base64() == kRsaPublic);
  }

  TEST_CASE("A.3 body hash") {
    CHECK(canonicalize_body(Canon::Relaxed, kBody) == kRelaxedBody);
    for (std::size_t chunk : {std::size_t{1}, std::size_t{5}, std::size_t{64}}) {
      CAPTURE(chunk);
      CHECK(hash_body(Canon::Relaxed, kBody, chunk) == kRfcBodyHash);
      CHECK(hash_body(Canon::Simple, kBody, chunk) == kSimpleBodyHash);
    }
  }

  TEST_CASE("A.3 header data canonicalizes to the bytes the RFC signed") {
    const std::string message = rfc_signed_message();
    const SplitMessage split = split_message(message);
    REQUIRE(split.headers.size() == 7);
    CHECK(split.body == kBody);
    std::string headers;
    for (std::size_t i = 2; i < 7; ++i) headers += canonicalize_header(Canon::Relaxed, split.headers[i].raw);
    CHECK(headers == kCanonicalHeaders);

    std::string ed_sig = canonicalize_header(Canon::Relaxed, without_b_value(split.headers[0].raw));
    REQUIRE(ed_sig.size() >= 2);
    ed_sig.resize(ed_sig.size() - 2);  // the signature field is hashed without its CRLF
    CHECK(headers + ed_sig == signed_data("ed25519-sha256", "brisbane"));

    std::string rsa_sig = canonicalize_header(Canon::Relaxed, without_b_value(split.headers[1].raw));
    REQUIRE(rsa_sig.size() >= 2);
    rsa_sig.resize(rsa_sig.size() - 2);
    CHECK(headers + rsa_sig == signed_data("rsa-sha256", "test"));
  }

  TEST_CASE("A.3 b= values reproduce exactly from the signed data") {
    // Ed25519 and RSASSA-PKCS1-v1_5 are deterministic: the RFC's b= must come out byte for byte.
    const SigningKey ed = load(kEd25519Pem);
    auto ed_sig = ed.sign(signed_data("ed25519-sha256", "brisbane"));
    REQUIRE(ed_sig.ok());
    CHECK(base64_encode(*ed_sig) == kEd25519B);

    const SigningKey rsa = load(kRsaPem, KeyPolicy{.allow_weak_rsa = true});
    auto rsa_sig = rsa.sign(signed_data("rsa-sha256", "test"));
    REQUIRE(rsa_sig.ok());
    CHECK(base64_encode(*rsa_sig) == kRsaB);
  }

  TEST_CASE("A.3 message verifies with the A.2 records") {
    const auto results = verify_message(rfc_signed_message(), rfc_keys());
    REQUIRE(results.size() == 2);
    CHECK(results[0].pass);
    CHECK(results[0].reason == "ok");
    CHECK(results[0].domain == "football.example.com");
    CHECK(results[0].selector == "brisbane");
    CHECK(results[0].algorithm == "ed25519-sha256");
    CHECK(results[1].pass);
    CHECK(results[1].selector == "test");
    CHECK(results[1].algorithm == "rsa-sha256");
  }

  TEST_CASE("A.3 message fails when altered") {
    std::string body_changed = rfc_signed_message();
    body_changed.replace(body_changed.find("hungry"), 6, "thirst");
    for (const auto& r : verify_message(body_changed, rfc_keys())) {
      CAPTURE(r.selector);
      CHECK_FALSE(r.pass);
    }

    std::string header_changed = rfc_signed_message();
    header_changed.replace(header_changed.find("dinner"), 6, "supper");
    const auto results = verify_message(header_changed, rfc_keys());
    REQUIRE(results.size() == 2);
    CHECK_FALSE(results[0].pass);
    CHECK_FALSE(results[1].pass);

    // The oversigned From (h= names it twice) forbids adding a second one.
    std::string from_added = rfc_signed_message();
    from_added.insert(from_added.find("From: Joe"), "From: Mallory <m@evil.example>\r\n");
    for (const auto& r : verify_message(from_added, rfc_keys())) CHECK_FALSE(r.pass);

    // The wrong key fails too: swap the records.
    const KeyLookup swapped = [](std::string_view selector, std::string_view) -> dkr::Result<std::string> {
      if (selector == "brisbane")
        return std::string("v=DKIM1; k=ed25519; p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
      return std::string("v=DKIM1; k=rsa; p=") + std::string(kRsaPublic);
    };
    const auto wrong = verify_message(rfc_signed_message(), swapped);
    REQUIRE(wrong.size() == 2);
    CHECK_FALSE(wrong[0].pass);
    CHECK(wrong[1].pass);
  }

  TEST_CASE("our signer with the RFC's options: same bh=, same h= set, deterministic, verifies") {
    auto ed = std::make_shared<const SigningKey>(load(kEd25519Pem));
    auto rsa = std::make_shared<const SigningKey>(load(kRsaPem, KeyPolicy{.allow_weak_rsa = true}));
    SignOptions options;
    options.domain = "football.example.com";
    options.canonicalization = Canonicalization{Canon::Relaxed, Canon::Relaxed};
    options.headers = {"from", "to", "subject", "date", "message-id"};
    options.oversign = {"from", "subject", "date"};
    options.identity = "@football.example.com";
    options.timestamp = 1528637909;

    SignOptions ed_options = options;
    ed_options.selector = "brisbane";
    SignOptions rsa_options = options;
    rsa_options.selector = "test";
    const std::vector<SignRequest> requests{{ed_options, ed}, {rsa_options, rsa}};

    auto first = sign_message(kUnsignedMessage, requests);
    REQUIRE_MESSAGE(first.ok(), (first.ok() ? std::string() : first.error().message));
    REQUIRE(first->size() == 2);
    auto second = sign_message(kUnsignedMessage, requests);
    REQUIRE(second.ok());
    CHECK((*first)[0] == (*second)[0]);  // Ed25519 is deterministic
    CHECK((*first)[1] == (*second)[1]);  // so is RSASSA-PKCS1-v1_5

    const std::vector<std::string> rfc_h{"from", "to", "subject", "date", "message-id", "from", "subject", "date"};
    for (std::size_t i = 0; i < 2; ++i) {
      const std::string& field = (*first)[i];
      CAPTURE(field);
      CHECK(field.rfind("DKIM-Signature:", 0) == 0);
      CHECK(field.size() >= 2);
      CHECK(field.substr(field.size() - 2) == "\r\n");
      auto tags = parse_tags(field);
      CHECK(tags["v"] == "1");
      CHECK(tags["a"] == (i == 0 ? "ed25519-sha256" : "rsa-sha256"));
      CHECK(tags["c"] == "relaxed/relaxed");
      CHECK(tags["d"] == "football.example.com");
      CHECK(tags["s"] == (i == 0 ? "brisbane" : "test"));
      CHECK(tags["i"] == "@football.example.com");
      CHECK(tags["t"] == "1528637909");
      CHECK(tags.count("x") == 0);
      CHECK(tags["bh"] == kRfcBodyHash);
      auto h = split_h(tags["h"]);
      auto sorted_h = h;
      auto sorted_rfc = rfc_h;
      std::sort(sorted_h.begin(), sorted_h.end());
      std::sort(sorted_rfc.begin(), sorted_rfc.end());
      CHECK(sorted_h == sorted_rfc);
      // Folded at <= 78 columns.
      std::size_t line_start = 0;
      while (line_start < field.size()) {
        auto end = field.find("\r\n", line_start);
        if (end == std::string::npos) end = field.size();
        CHECK(end - line_start <= 78);
        line_start = end + 2;
      }
    }
    const std::string signed_message = (*first)[0] + (*first)[1] + std::string(kUnsignedMessage);
    const auto results = verify_message(signed_message, rfc_keys());
    REQUIRE(results.size() == 2);
    CHECK(results[0].pass);
    CHECK(results[1].pass);
  }
}
