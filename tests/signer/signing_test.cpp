#include <doctest/doctest.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <string>
#include <thread>
#include <vector>

#include "signature_field.hpp"
#include "signer/signer.hpp"
#include "tag_list.hpp"

using namespace dkr::signer;

namespace {

const std::string kMessage =
    "From: Alice <alice@example.com>\r\n"
    "To: bob@example.org\r\n"
    "To: carol@example.org\r\n"
    "Subject: Hi\r\n"
    "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
    "X-Unsigned: yes\r\n"
    "\r\n"
    "Hello\r\n";

std::shared_ptr<const SigningKey> make_key(Algorithm algorithm) {
  auto key = SigningKey::generate(algorithm);
  REQUIRE(key.ok());
  return std::make_shared<const SigningKey>(std::move(key).value());
}

KeyLookup lookup_for(const SigningKey& key) {
  return [record = key.dns_record()](std::string_view, std::string_view) -> dkr::Result<std::string> { return record; };
}

std::string sign(const std::string& message, std::shared_ptr<const SigningKey> key, SignOptions options = {}) {
  options.domain = "example.com";
  options.selector = "sel";
  auto fields = sign_message(message, {SignRequest{options, std::move(key)}});
  REQUIRE(fields.ok());
  return fields->front() + message;
}

}  // namespace

TEST_CASE("h= lists each occurrence, bottom-up pairs, and oversigns once more") {
  SignOptions options;
  options.headers = {"From", "To", "Subject", "Cc"};
  options.oversign = {"From", "Cc"};
  const auto split = split_message(kMessage);
  const auto h = select_signed_headers(split.headers, options);
  CHECK(h == std::vector<std::string>{"from", "from", "to", "to", "subject", "cc"});
}

TEST_CASE("a signed message verifies; tampering and added headers break it") {
  for (Algorithm algorithm : {Algorithm::RsaSha256, Algorithm::Ed25519Sha256}) {
    const auto key = make_key(algorithm);
    const std::string signed_message = sign(kMessage, key);
    auto results = verify_message(signed_message, lookup_for(*key));
    REQUIRE(results.size() == 1);
    CHECK(results[0].pass);

    std::string body_changed = signed_message;
    body_changed.replace(body_changed.find("Hello"), 5, "Hullo");
    CHECK_FALSE(verify_message(body_changed, lookup_for(*key))[0].pass);

    // An added From above the original: oversigning makes the signature fail.
    CHECK_FALSE(verify_message("From: mallory@evil.example\r\n" + signed_message, lookup_for(*key))[0].pass);
    // An unsigned header may be added freely.
    CHECK(verify_message("X-Added: 1\r\n" + signed_message, lookup_for(*key))[0].pass);
  }
}

TEST_CASE("every DKIM-Signature line fits in 78 columns and b= comes last") {
  const auto key = make_key(Algorithm::RsaSha256);
  SignOptions options;
  options.identity = "alice@mail.example.com";
  options.expire_after = std::chrono::seconds(3600);
  const std::string signed_message = sign(kMessage, key, options);
  const std::string field = signed_message.substr(0, signed_message.find("From:"));
  std::size_t pos = 0;
  while (pos < field.size()) {
    const auto eol = field.find("\r\n", pos);
    CHECK(eol - pos <= 78);
    pos = eol + 2;
  }
  const auto tags = TagList::parse(field.substr(field.find(':') + 1));
  REQUIRE(tags.ok());
  CHECK(tags->tags().back().name == "b");
  CHECK(*tags->find("i") == "alice@mail.example.com");
  CHECK(std::stoll(*tags->find("x")) == std::stoll(*tags->find("t")) + 3600);
  CHECK(tags->find("l") == nullptr);
}

TEST_CASE("identity outside the signing domain is refused") {
  const auto key = make_key(Algorithm::Ed25519Sha256);
  SignOptions options;
  options.domain = "example.com";
  options.selector = "s";
  options.identity = "a@example.org";
  CHECK_FALSE(sign_message(kMessage, {SignRequest{options, key}}).ok());
}

TEST_CASE("weak RSA keys: generation refused, import only with opt-in") {
  CHECK_FALSE(SigningKey::generate(Algorithm::RsaSha256, 1024).ok());
  EVP_PKEY* weak = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(1024));
  REQUIRE(weak != nullptr);
  // Export through OpenSSL directly so the test does not depend on our own PEM writer.
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, weak, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  const std::string pem(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  EVP_PKEY_free(weak);
  CHECK_FALSE(SigningKey::from_pem(pem).ok());
  const auto allowed = SigningKey::from_pem(pem, KeyPolicy{.allow_weak_rsa = true});
  REQUIRE(allowed.ok());
  CHECK(allowed->bits() == 1024);
}

TEST_CASE("revoked and mismatched key records fail with a reason") {
  const auto key = make_key(Algorithm::RsaSha256);
  const std::string signed_message = sign(kMessage, key);
  auto revoked =
      verify_message(signed_message, [](auto, auto) -> dkr::Result<std::string> { return std::string("v=DKIM1; p="); });
  CHECK_FALSE(revoked[0].pass);
  CHECK(revoked[0].reason.find("revoked") != std::string::npos);
  const auto other = make_key(Algorithm::RsaSha256);
  CHECK_FALSE(verify_message(signed_message, lookup_for(*other))[0].pass);
}

TEST_CASE("tag lists and base64") {
  const auto tags = TagList::parse(" v = 1 ;a=rsa-sha256;\r\n\tb=ab\r\n\t cd; ");
  REQUIRE(tags.ok());
  CHECK(*tags->find("v") == "1");
  CHECK(strip_fws(*tags->find("b")) == "abcd");
  CHECK_FALSE(TagList::parse("v=1; v=2").ok());
  CHECK(base64_encode("hello") == "aGVsbG8=");
  CHECK(*base64_decode("aGVs\r\n bG8=") == "hello");
  CHECK_FALSE(base64_decode("a*b").has_value());
  CHECK(remove_b_tag_value("DKIM-Signature: a=1; bh=xyz; b=abc\r\n\tdef") == "DKIM-Signature: a=1; bh=xyz; b=");
}

// Each signature starts from a copy of a context the key set up once; threads share the key (the
// relay signs on several threads), so the copies must not disturb each other or the original.
TEST_CASE("one key signs correctly from several threads at once") {
  for (Algorithm algorithm : {Algorithm::Ed25519Sha256, Algorithm::RsaSha256}) {
    const auto key = make_key(algorithm);
    SignOptions options;
    options.domain = "example.com";
    options.selector = "sel";
    constexpr int kThreads = 4;
    const int per_thread = algorithm == Algorithm::Ed25519Sha256 ? 40 : 8;
    std::vector<std::string> signed_messages(static_cast<std::size_t>(kThreads * per_thread));
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < per_thread; ++i) {
          const std::string message = "Subject: " + std::to_string(t * 1000 + i) + "\r\n" + kMessage;
          auto fields = sign_message(message, {SignRequest{options, key}});
          if (fields.ok()) signed_messages[static_cast<std::size_t>(t * per_thread + i)] = fields->front() + message;
        }
      });
    }
    for (auto& thread : threads) thread.join();
    for (const auto& message : signed_messages) {
      REQUIRE_FALSE(message.empty());
      const auto results = verify_message(message, lookup_for(*key));
      REQUIRE(results.size() == 1);
      CHECK(results[0].pass);
    }
  }
}
