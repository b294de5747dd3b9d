#include <doctest/doctest.h>

#include <functional>

#include <nlohmann/json.hpp>

#include "keystore/key_transfer.hpp"
#include "test_support.hpp"

using namespace dkr::keystore;
using namespace dkr::keystore::test;

namespace {

Kek kek_of(unsigned char fill) {
  std::array<unsigned char, Kek::kSize> bytes{};
  bytes.fill(fill);
  bytes[0] = 0x42;
  return Kek::from_bytes(bytes);
}

// Two domains' keys with every lifecycle field set, out of a directory store.
std::vector<KeyMaterial> sample_keys(const std::filesystem::path& dir) {
  auto store = open_store(dir);
  REQUIRE(store->add_domain("a.bundle.example", ed25519("a1")));
  REQUIRE(store->stage_key("a.bundle.example", ed25519("a2")));
  REQUIRE(store->activate("a.bundle.example", "a2"));
  REQUIRE(store->add_domain("b.bundle.example", ed25519("b1")));
  auto keys = store->export_keys();
  REQUIRE(keys);
  REQUIRE(keys->size() == 3);
  return std::move(*keys);
}

}  // namespace

TEST_CASE("a key bundle keeps every key, state and timestamp, and is written 0600 once") {
  TempDir dir;
  const auto keys = sample_keys(dir.path() / "store");
  const auto bundle = dir.path() / "keys.json";
  REQUIRE(write_key_bundle(bundle, keys, kek_of(7)));
  CHECK(mode_of(bundle) == 0600);
  CHECK(read_text(bundle).find("PRIVATE KEY") == std::string::npos);
  auto again = write_key_bundle(bundle, keys, kek_of(7));
  REQUIRE_FALSE(again);
  CHECK(again.error().code == dkr::ErrorCode::conflict);

  auto read = read_key_bundle(bundle, kek_of(7));
  REQUIRE(read);
  REQUIRE(read->size() == keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    CHECK((*read)[i].domain == keys[i].domain);
    CHECK((*read)[i].pem == keys[i].pem);
    CHECK((*read)[i].info.selector == keys[i].info.selector);
    CHECK((*read)[i].info.state == keys[i].info.state);
    CHECK((*read)[i].info.created_at == keys[i].info.created_at);
    CHECK((*read)[i].info.activated_at == keys[i].info.activated_at);
    CHECK((*read)[i].info.retired_at == keys[i].info.retired_at);
  }
  CHECK((*read)[0].info.state == KeyState::Retiring);
}

TEST_CASE("a key bundle is refused as a whole at the first key that does not open") {
  TempDir dir;
  const auto keys = sample_keys(dir.path() / "store");
  const auto bundle = dir.path() / "keys.json";
  REQUIRE(write_key_bundle(bundle, keys, kek_of(7)));

  auto wrong = read_key_bundle(bundle, kek_of(8));
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().message.find("a.bundle.example selector a1 (key 1)") != std::string::npos);

  // A sealed key moved to another entry does not open there: the domain and selector are bound.
  auto json = nlohmann::json::parse(read_text(bundle));
  json["keys"][2]["sealed_key"] = json["keys"][1]["sealed_key"];
  write_text(bundle, json.dump());
  auto moved = read_key_bundle(bundle, kek_of(7));
  REQUIRE_FALSE(moved);
  CHECK(moved.error().message.find("b.bundle.example selector b1 (key 3)") != std::string::npos);

  write_text(bundle, R"({"format": "something else", "keys": []})");
  CHECK_FALSE(read_key_bundle(bundle, kek_of(7)));
}

// Issue 24 item 2: state, timestamps and public data are authenticated under the KEK.
TEST_CASE("an edited bundle entry (a revoked key made active, a timestamp, the record) is refused") {
  TempDir dir;
  auto keys = sample_keys(dir.path() / "store");
  keys[0].info.state = KeyState::Revoked;
  keys[0].info.revoked_at = 1790000000;
  const auto bundle = dir.path() / "keys.json";
  REQUIRE(write_key_bundle(bundle, keys, kek_of(7)));
  const auto original = nlohmann::json::parse(read_text(bundle));
  CHECK(original["version"] == 2);
  REQUIRE(read_key_bundle(bundle, kek_of(7)));

  auto edited = [&](const std::function<void(nlohmann::json&)>& edit) {
    auto json = original;
    edit(json["keys"][0]);
    write_text(bundle, json.dump());
    return read_key_bundle(bundle, kek_of(7));
  };
  auto revived = edited([](nlohmann::json& e) {
    e["state"] = "active";
    e["revoked_at"] = 0;
  });
  REQUIRE_FALSE(revived);
  CHECK(revived.error().message.find("a.bundle.example selector a1 (key 1)") != std::string::npos);
  CHECK_FALSE(edited([](nlohmann::json& e) { e["state"] = "active"; }));
  CHECK_FALSE(edited([](nlohmann::json& e) { e["created_at"] = 1; }));
  CHECK_FALSE(edited([](nlohmann::json& e) { e["activate_after_dns"] = true; }));
  CHECK_FALSE(edited([](nlohmann::json& e) { e["dns_record"] = "v=DKIM1; k=ed25519; p=AAAA"; }));

  // A version 1 bundle (state not authenticated) is refused with what to do.
  auto old = original;
  old["version"] = 1;
  write_text(bundle, old.dump());
  auto refused = read_key_bundle(bundle, kek_of(7));
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("export the keys again") != std::string::npos);
}
