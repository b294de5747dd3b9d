#include <doctest/doctest.h>

#include "test_support.hpp"

using namespace dkr::keystore;
using namespace dkr::keystore::test;
using dkr::signer::Algorithm;

TEST_CASE("add_domain creates an active key, files 0600 in a 0700 folder") {
  TempDir dir;
  auto store = open_store(dir / "keys");
  CHECK(mode_of(dir / "keys") == 0700);
  auto added = store->add_domain("Example.com", KeyParams{});
  REQUIRE(added);
  CHECK(added->selector == "s202609a");  // from the test clock, 2026-09
  CHECK(added->state == KeyState::Active);
  CHECK(added->bits == 2048);
  CHECK(record_tag(added->dns_record, "k") == "rsa");
  CHECK(mode_of(dir / "keys" / "example.com") == 0700);
  CHECK(mode_of(dir / "keys" / "example.com" / "s202609a.pem") == 0600);
  CHECK(mode_of(dir / "keys" / "example.com" / "keys.json") == 0600);

  auto set = store->signer_for("example.com");
  REQUIRE(set);
  REQUIRE(set->keys.size() == 1);
  CHECK(set->keys[0].selector == "s202609a");
  auto signature = set->keys[0].key->sign("header data");
  REQUIRE(signature);
  CHECK(verify_with_record(added->dns_record, "header data", *signature));

  auto again = store->add_domain("example.com", KeyParams{});
  REQUIRE_FALSE(again);
  CHECK(again.error().message.find("already exists") != std::string::npos);

  // Survives a reopen.
  store.reset();
  auto reopened = open_store(dir / "keys");
  CHECK(active_selector(*reopened, "example.com", Algorithm::RsaSha256) == "s202609a");
}

TEST_CASE("key parameters: RSA sizes, Ed25519, selectors") {
  TempDir dir;
  auto store = open_store(dir.path());
  KeyParams weak;
  weak.bits = 1024;
  auto refused = store->add_domain("weak.example", weak);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("2048") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "weak.example"));

  KeyParams odd;
  odd.bits = 2500;
  CHECK_FALSE(store->add_domain("odd.example", odd));

  KeyParams big;
  big.bits = 3072;
  big.selector = "Big";
  auto added = store->add_domain("big.example", big);
  REQUIRE(added);
  CHECK(added->selector == "big");
  CHECK(added->bits == 3072);

  auto ed = store->stage_key("big.example", ed25519());
  REQUIRE(ed);
  CHECK(ed->bits == 256);
  CHECK(ed->selector == "s202609a");
  CHECK(record_tag(ed->dns_record, "k") == "ed25519");

  KeyParams bad_selector = ed25519("-bad");
  CHECK_FALSE(store->stage_key("big.example", bad_selector));
  KeyParams duplicate = ed25519("big");
  auto dup = store->stage_key("big.example", duplicate);
  REQUIRE_FALSE(dup);
  CHECK(dup.error().message.find("already exists") != std::string::npos);
  CHECK_FALSE(store->stage_key("not a domain", ed25519()));
}

TEST_CASE("remove_domain is refused while a key is active unless forced") {
  TempDir dir;
  auto store = open_store(dir.path());
  REQUIRE(store->add_domain("gone.example", ed25519("k1")));
  auto refused = store->remove_domain("gone.example", false);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("k1") != std::string::npos);
  REQUIRE(store->remove_domain("gone.example", true));
  CHECK(store->signer_for("gone.example") == nullptr);
  CHECK_FALSE(store->domain("gone.example"));
  CHECK(store->list().empty());
  // Only the lock file remains.
  std::vector<std::string> left;
  for (const auto& item : std::filesystem::directory_iterator(dir.path())) {
    left.push_back(item.path().filename().string());
  }
  CHECK(left == std::vector<std::string>{".lock"});

  REQUIRE(store->add_domain("quiet.example", ed25519("k1")));
  REQUIRE(*store->change_states("quiet.example", {{"k1", KeyState::Active, KeyState::Retiring}}) ==
          ChangeOutcome::Applied);
  CHECK(store->remove_domain("quiet.example", false));
  CHECK_FALSE(store->remove_domain("quiet.example", false));  // no longer there
}

TEST_CASE("stage_key on a new domain creates it with a staged key only") {
  TempDir dir;
  auto store = open_store(dir.path());
  auto staged = store->stage_key("new.example", ed25519());
  REQUIRE(staged);
  CHECK(store->signer_for("new.example") == nullptr);
  auto info = store->domain("new.example");
  REQUIRE(info);
  CHECK(info->selectors.size() == 1);
  REQUIRE(*store->change_states("new.example", {{staged->selector, KeyState::Staged, KeyState::Active}}) ==
          ChangeOutcome::Applied);
  CHECK(store->signer_for("new.example") != nullptr);
  // The selector pattern moves on to the next free sequence.
  auto second = store->stage_key("new.example", ed25519());
  REQUIRE(second);
  CHECK(second->selector == "s202609b");
}
