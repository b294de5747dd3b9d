#include <doctest/doctest.h>

#include "lifecycle/key_lifecycle.hpp"
#include "test_support.hpp"

using namespace dkr::keystore;
using namespace dkr::keystore::test;

TEST_CASE("signer_for: exact, parent fallback, case, trailing dot, never the TLD") {
  TempDir dir;
  auto store = open_store(dir.path());
  REQUIRE(store->add_domain("example.com", ed25519("parent")));
  REQUIRE(store->add_domain("eu.example.com", ed25519("child")));

  auto selector_for = [&](std::string_view name) -> std::string {
    auto set = store->signer_for(name);
    return set ? set->domain + "/" + set->keys.at(0).selector : "";
  };
  CHECK(selector_for("example.com") == "example.com/parent");
  CHECK(selector_for("EXAMPLE.Com.") == "example.com/parent");
  CHECK(selector_for("mail.example.com") == "example.com/parent");
  CHECK(selector_for("a.b.c.example.com") == "example.com/parent");
  CHECK(selector_for("eu.example.com") == "eu.example.com/child");
  CHECK(selector_for("x.EU.example.com") == "eu.example.com/child");
  CHECK(selector_for("other.com") == "");
  CHECK(selector_for("com") == "");
  CHECK(selector_for("") == "");
  CHECK(selector_for(".") == "");
  CHECK(selector_for("example.com..") == "");
  CHECK(selector_for("notexample.com") == "");
  CHECK(selector_for(std::string(300, 'a') + ".example.com") == "");

  // A domain without an active key falls through to its parent.
  REQUIRE(dkr::lifecycle::KeyLifecycle(*store).retire("eu.example.com", "child"));
  CHECK(selector_for("eu.example.com") == "example.com/parent");

  // The fallback stops before the TLD even if someone stored a two-label parent... and a domain
  // directly under a TLD never falls back to the TLD itself.
  REQUIRE(store->add_domain("co.uk", ed25519("k")));
  CHECK(selector_for("shop.co.uk") == "co.uk/k");
  CHECK(selector_for("uk") == "");
}

TEST_CASE("signer_for accepts U-labels and A-labels for the same domain") {
  TempDir dir;
  auto store = open_store(dir.path());
  auto added = store->add_domain(
      "b\xC3\xBC"
      "cher.example",
      ed25519("idn"));
  REQUIRE(added);
  CHECK(std::filesystem::exists(dir / "xn--bcher-kva.example" / "keys.json"));
  auto by_a_label = store->signer_for("xn--bcher-kva.example");
  auto by_u_label = store->signer_for(
      "B\xC3\x9C"
      "CHER.example");
  auto by_subdomain = store->signer_for(
      "mail.b\xC3\xBC"
      "cher.example");
  REQUIRE(by_a_label);
  CHECK(by_a_label == by_u_label);
  CHECK(by_a_label == by_subdomain);
  CHECK(by_a_label->domain == "xn--bcher-kva.example");
  CHECK(store->list().at(0).domain == "xn--bcher-kva.example");
  CHECK(store->signer_for("b\xC3(cher.example") == nullptr);  // malformed UTF-8
}

TEST_CASE("a looked-up SigningSet stays valid after the key is rotated away") {
  TempDir dir;
  auto store = open_store(dir.path());
  REQUIRE(store->add_domain("keep.example", ed25519("old")));
  auto held = store->signer_for("keep.example");
  REQUIRE(store->stage_key("keep.example", ed25519("new")));
  REQUIRE(dkr::lifecycle::KeyLifecycle(*store).activate_forced("keep.example", "new"));
  REQUIRE(dkr::lifecycle::KeyLifecycle(*store).revoke("keep.example", "old"));
  REQUIRE(dkr::lifecycle::KeyLifecycle(*store).remove_key("keep.example", "old"));
  REQUIRE(held);
  CHECK(held->keys.at(0).selector == "old");
  CHECK(held->keys.at(0).key->sign("data"));  // snapshot keeps the key alive
  CHECK(store->signer_for("keep.example")->keys.at(0).selector == "new");
}
