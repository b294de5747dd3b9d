#include <doctest/doctest.h>

#include <openssl/pem.h>

#include <cstdlib>
#include <map>

#include "test_support.hpp"

using namespace dkr::keystore;
using namespace dkr::keystore::test;

namespace {

const char* kGenkey = "/usr/sbin/opendkim-genkey";

bool have_genkey() { return ::access(kGenkey, X_OK) == 0; }

// Runs opendkim-genkey; returns the public TXT value from its .txt file (independent of our code).
std::string genkey(const std::filesystem::path& dir, const std::string& domain, const std::string& selector) {
  std::filesystem::create_directories(dir);
  const std::string command =
      std::string(kGenkey) + " -b 2048 -d " + domain + " -s " + selector + " -D " + dir.string();
  REQUIRE(std::system(command.c_str()) == 0);
  // mail._domainkey IN TXT ( "v=DKIM1; h=sha256; k=rsa; " "p=MIIB..." "..." )  ; comment
  const std::string text = read_text(dir / (selector + ".txt"));
  std::string value;
  bool in_quotes = false;
  for (char c : text.substr(0, text.find(';', text.find(')')))) {
    if (c == '"')
      in_quotes = !in_quotes;
    else if (in_quotes)
      value.push_back(c);
  }
  return value;
}

}  // namespace

// The traditional "BEGIN RSA PRIVATE KEY" form of a PEM key, converted by OpenSSL directly (older
// opendkim-genkey releases write this form; Debian 12's writes PKCS#8).
static std::string traditional_pem(const std::string& pem) {
  BIO* in = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr);
  BIO_free(in);
  REQUIRE(key != nullptr);
  BIO* out = BIO_new(BIO_s_mem());
  REQUIRE(PEM_write_bio_PrivateKey_traditional(out, key, nullptr, nullptr, 0, nullptr, nullptr) == 1);
  char* data = nullptr;
  const long length = BIO_get_mem_data(out, &data);
  std::string text(data, static_cast<std::size_t>(length));
  BIO_free(out);
  EVP_PKEY_free(key);
  return text;
}

TEST_CASE("import_pem takes opendkim-genkey's key (PKCS#8 and traditional RSA PEM) as the active key") {
  // docker/install-deps.sh installs opendkim-tools: without it this test fails, never passes empty.
  REQUIRE_MESSAGE(have_genkey(), "opendkim-genkey not installed (docker/install-deps.sh installs opendkim-tools)");
  TempDir dir;
  const std::string published = genkey(dir / "gen", "example.org", "mail");
  REQUIRE(read_text(dir / "gen" / "mail.private").find("PRIVATE KEY-----") != std::string::npos);

  auto store = open_store(dir / "store");
  REQUIRE(store->add_domain("example.org", ed25519("old-ed")));
  REQUIRE(store->add_domain("example.com", KeyParams{.selector = "x"}));
  auto imported = store->import_pem("Example.org", "Mail", dir / "gen" / "mail.private");
  REQUIRE(imported);
  CHECK(imported->selector == "mail");
  CHECK(imported->state == KeyState::Active);
  CHECK(imported->bits == 2048);
  // The record we render carries the same public key opendkim-genkey published.
  CHECK(record_tag(imported->dns_record, "p") == record_tag(published, "p"));

  auto set = store->signer_for("example.org");
  REQUIRE(set);
  const ActiveKey* rsa = nullptr;
  for (const auto& key : set->keys) {
    if (key.selector == "mail") rsa = &key;
  }
  REQUIRE(rsa != nullptr);
  auto signature = rsa->key->sign("to be signed");
  REQUIRE(signature);
  CHECK(verify_with_record(published, "to be signed", *signature));
  CHECK(mode_of(dir / "store" / "example.org" / "mail.pem") == 0600);

  auto twice = store->import_pem("example.org", "mail", dir / "gen" / "mail.private");
  CHECK_FALSE(twice);

  const std::string traditional = traditional_pem(read_text(dir / "gen" / "mail.private"));
  REQUIRE(traditional.find("-----BEGIN RSA PRIVATE KEY-----") == 0);
  write_text(dir / "traditional.private", traditional);
  auto converted = store->import_pem("example.org", "trad", dir / "traditional.private");
  REQUIRE(converted);
  CHECK(record_tag(converted->dns_record, "p") == record_tag(published, "p"));
  CHECK(store->domain("example.org")->selectors.at(1).state == KeyState::Retiring);  // "mail"
  // Importing over an active RSA key moves it to retiring.
  REQUIRE(store->import_pem("example.com", "imp", dir / "gen" / "mail.private"));
  auto info = store->domain("example.com");
  CHECK(info->selectors.at(0).state == KeyState::Retiring);
  CHECK(info->selectors.at(1).state == KeyState::Active);

  write_text(dir / "bad.pem", "not a key");
  CHECK_FALSE(store->import_pem("example.net", "k", dir / "bad.pem"));
  CHECK_FALSE(store->import_pem("example.net", "k", dir / "missing.pem"));
}

TEST_CASE("import_opendkim reads KeyTable + SigningTable, skipping what it cannot represent") {
  // docker/install-deps.sh installs opendkim-tools: without it this test fails, never passes empty.
  REQUIRE_MESSAGE(have_genkey(), "opendkim-genkey not installed (docker/install-deps.sh installs opendkim-tools)");
  TempDir dir;
  const std::string org = genkey(dir / "keys" / "example.org", "example.org", "mail");
  const std::string net = genkey(dir / "keys" / "example.net", "example.net", "s2024");

  const auto key_table = dir / "KeyTable";
  const auto signing_table = dir / "SigningTable";
  write_text(key_table,
             "# OpenDKIM key table\n"
             "org-key   example.org:mail:" +
                 (dir / "keys/example.org/mail.private").string() +
                 "\n"
                 "net-key example.net:s2024:" +
                 (dir / "keys/example.net/s2024.private").string() +
                 "  # comment\n"
                 "unused-key example.info:unused:" +
                 (dir / "keys/other/unused.private").string() /* never read */ +
                 "\n"
                 "broken-line nocolons\n");
  write_text(signing_table,
             "*@example.org org-key\n"
             "*@sub.example.org org-key\n"
             "example.net net-key\n"
             "*@*.example.net net-key\n"
             "alice@example.com org-key\n"
             "*@customer.example net-key\n"
             "*@example.biz missing-key\n");

  auto store = open_store(dir / "store");
  auto report = store->import_opendkim(key_table, signing_table);
  REQUIRE(report);
  REQUIRE(report->imported.size() == 2);
  CHECK(report->imported[0].domain == "example.org");
  CHECK(report->imported[0].selector == "mail");
  CHECK(report->imported[1].domain == "example.net");
  CHECK(report->imported[1].selector == "s2024");

  std::map<std::string, std::string> skipped;
  for (const auto& entry : report->skipped) skipped[entry.entry] = entry.reason;
  for (const auto& [entry, reason] : skipped) MESSAGE(entry << " -> " << reason);
  CHECK(skipped.size() == 6);
  CHECK(skipped.contains("KeyTable:5: broken-line nocolons"));
  CHECK(skipped.contains("KeyTable:4: unused-key"));
  CHECK(skipped.contains("SigningTable:4: *@*.example.net net-key"));
  CHECK(skipped.contains("SigningTable:5: alice@example.com org-key"));
  CHECK(skipped["SigningTable:6: *@customer.example net-key"].find("d=example.net") != std::string::npos);
  CHECK(skipped["SigningTable:7: *@example.biz missing-key"].find("not in the KeyTable") != std::string::npos);

  // Imported keys sign, for the domain and (by parent fallback) its subdomains.
  for (const auto& [domain, record] : {std::pair{"sub.example.org", org}, std::pair{"example.net", net}}) {
    auto set = store->signer_for(domain);
    REQUIRE(set);
    auto signature = set->keys.at(0).key->sign("payload");
    REQUIRE(signature);
    CHECK(verify_with_record(record, "payload", *signature));
  }
  CHECK(store->signer_for("example.info") == nullptr);

  // Running the import again changes nothing.
  auto again = store->import_opendkim(key_table, signing_table);
  REQUIRE(again);
  CHECK(again->imported.empty());
  CHECK_FALSE(store->import_opendkim(dir / "nope", signing_table));
}
