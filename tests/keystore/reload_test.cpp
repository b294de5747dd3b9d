#include <doctest/doctest.h>

#include "keystore/key_store_watcher.hpp"
#include "lifecycle/key_lifecycle.hpp"
#include "test_support.hpp"

using namespace dkr::keystore;
using namespace dkr::keystore::test;

TEST_CASE("reload picks up another writer's changes and keeps broken domains as they were") {
  TempDir dir;
  auto relay = open_store(dir.path());  // the long-running reader
  auto cli = open_store(dir.path());    // another process's writer
  REQUIRE(cli->add_domain("a.example", ed25519("a1")));
  REQUIRE(cli->add_domain("b.example", ed25519("b1")));
  CHECK(relay->signer_for("a.example") == nullptr);  // not yet reloaded
  REQUIRE(relay->reload());
  const auto b_before = relay->signer_for("b.example");
  REQUIRE(b_before);
  CHECK(relay->signer_for("a.example")->keys.at(0).selector == "a1");

  // Rotate a.example and break b.example's metadata in the same reload.
  REQUIRE(cli->stage_key("a.example", ed25519("a2")));
  REQUIRE(dkr::lifecycle::KeyLifecycle(*cli).activate_forced("a.example", "a2"));
  write_text(dir / "b.example" / "keys.json", "{ not json");
  auto reloaded = relay->reload();
  REQUIRE_FALSE(reloaded);
  CHECK(reloaded.error().message.find("b.example") != std::string::npos);
  CHECK(reloaded.error().message.find("keys.json") != std::string::npos);
  CHECK(relay->signer_for("a.example")->keys.at(0).selector == "a2");
  CHECK(relay->signer_for("b.example") == b_before);  // previous state kept
  REQUIRE(relay->problems().size() == 1);
  CHECK(relay->problems()[0].domain == "b.example");

  // A broken key file is reported the same way.
  write_text(dir / "a.example" / "a2.pem", "-----BEGIN PRIVATE KEY-----\ngarbage\n");
  std::filesystem::permissions(dir / "a.example" / "a2.pem", std::filesystem::perms(0600));
  auto again = relay->reload();
  REQUIRE_FALSE(again);
  CHECK(again.error().message.find("a2.pem") != std::string::npos);
  CHECK(relay->signer_for("a.example")->keys.at(0).selector == "a2");

  // Removing a domain folder removes the domain; an unchanged reload keeps the same objects.
  std::filesystem::remove_all(dir / "a.example");
  REQUIRE(cli->remove_domain("b.example", true));  // force also removes a broken domain
  REQUIRE(cli->add_domain("c.example", ed25519("c1")));
  REQUIRE(relay->reload());
  CHECK(relay->signer_for("a.example") == nullptr);
  CHECK(relay->signer_for("b.example") == nullptr);
  const auto c = relay->signer_for("c.example");
  REQUIRE(c);
  REQUIRE(relay->reload());
  CHECK(relay->signer_for("c.example") == c);
  CHECK(relay->problems().empty());
}

TEST_CASE("a folder that is not a normalised domain name is reported, not loaded") {
  TempDir dir;
  std::filesystem::create_directory(dir / "Upper.Example");
  auto store = open_store(dir.path());
  REQUIRE(store->problems().size() == 1);
  CHECK(store->problems()[0].domain == "Upper.Example");
}

TEST_CASE("KeyStoreWatcher reloads when another process changes the files") {
  TempDir dir;
  auto relay = open_store(dir.path());
  std::atomic<int> failures{0};
  KeyStoreWatcherOptions options;
  options.debounce = std::chrono::milliseconds(50);
  options.on_reload = [&](const dkr::Result<void>& result) {
    if (!result) ++failures;
  };
  auto watcher = KeyStoreWatcher::start(*relay, options);
  REQUIRE(watcher);

  auto cli = open_store(dir.path());
  REQUIRE(cli->add_domain("watched.example", ed25519("w1")));
  CHECK(eventually([&] { return relay->signer_for("watched.example") != nullptr; }));

  REQUIRE(cli->stage_key("watched.example", ed25519("w2")));
  REQUIRE(dkr::lifecycle::KeyLifecycle(*cli).activate_forced("watched.example", "w2"));
  CHECK(eventually([&] {
    auto set = relay->signer_for("watched.example");
    return set && set->keys.at(0).selector == "w2";
  }));

  REQUIRE(dkr::lifecycle::KeyLifecycle(*cli).retire("watched.example", "w2"));
  REQUIRE(cli->remove_domain("watched.example", false));
  CHECK(eventually([&] { return !relay->domain("watched.example"); }));
  CHECK((*watcher)->reload_count() >= 1);
  CHECK(failures.load() == 0);
}
