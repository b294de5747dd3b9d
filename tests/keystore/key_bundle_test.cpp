#include <doctest/doctest.h>

#include <functional>

#include <nlohmann/json.hpp>

#include "keystore/key_transfer.hpp"
#include "lifecycle/key_lifecycle.hpp"
#include "signer/body_hasher.hpp"
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
  REQUIRE(dkr::lifecycle::KeyLifecycle(*store).activate_forced("a.bundle.example", "a2"));
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

TEST_CASE("a bundle carries a delegated domain's flag and each key's slot; bundles without them import as before") {
  TempDir dir;
  auto source = open_store(dir.path() / "store");
  KeyParams first = ed25519("dkr1-1790000000");
  first.slot = "dkr1";
  first.delegated = true;
  REQUIRE(source->add_domain("deleg.bundle.example", first));
  KeyParams second = ed25519("dkr2-1790000100");
  second.slot = "dkr2";
  REQUIRE(source->stage_key("deleg.bundle.example", second));
  REQUIRE(source->add_domain("plain.bundle.example", ed25519("p1")));
  auto keys = source->export_keys();
  REQUIRE(keys);
  REQUIRE(keys->size() == 3);

  const auto bundle = dir.path() / "keys.json";
  REQUIRE(write_key_bundle(bundle, *keys, kek_of(7)));
  const auto original = nlohmann::json::parse(read_text(bundle));
  for (const auto& entry : original["keys"]) {
    if (entry["domain"] == "deleg.bundle.example") {
      CHECK(entry["delegated"] == true);
      CHECK(entry["slot"] == (entry["selector"] == "dkr1-1790000000" ? "dkr1" : "dkr2"));
    } else {
      // Written only when set: a plain domain's entry is as before.
      CHECK_FALSE(entry.contains("delegated"));
      CHECK_FALSE(entry.contains("slot"));
    }
  }

  // Into another directory store: the domain is delegated there too, each key in its slot.
  auto read = read_key_bundle(bundle, kek_of(7));
  REQUIRE(read);
  auto target = open_store(dir.path() / "target");
  for (const KeyMaterial& key : *read) REQUIRE(target->import_key(key.domain, key.info, key.pem, key.delegated));
  auto reopened = open_store(dir.path() / "target");
  auto deleg = reopened->domain("deleg.bundle.example");
  REQUIRE(deleg);
  CHECK(deleg->delegated);
  for (const auto& info : deleg->selectors) CHECK(info.slot == info.selector.substr(0, 4));
  CHECK(reopened->signer_for("deleg.bundle.example")->keys.at(0).selector == "dkr1");
  CHECK_FALSE(reopened->domain("plain.bundle.example")->delegated);
  CHECK(reopened->domain("plain.bundle.example")->selectors.at(0).slot.empty());

  // The slot and the flag are bound to the sealed key: edited, the entry does not open.
  auto edited = [&](const std::function<void(nlohmann::json&)>& edit) {
    auto json = original;
    for (auto& entry : json["keys"]) edit(entry);
    write_text(bundle, json.dump());
    return read_key_bundle(bundle, kek_of(7));
  };
  CHECK_FALSE(edited([](nlohmann::json& e) {
    if (e.contains("slot")) e["slot"] = e["slot"] == "dkr1" ? "dkr2" : "dkr1";
  }));
  CHECK_FALSE(edited([](nlohmann::json& e) { e.erase("delegated"); }));
  CHECK_FALSE(edited([](nlohmann::json& e) {
    if (e["domain"] == "plain.bundle.example") e["delegated"] = true;
  }));

  // A bundle entry as written before slots existed (sealed with the earlier binding, built here by
  // hand from the documented associated data): still opens, as a plain key.
  auto json = original;
  nlohmann::json& plain = json["keys"][2];
  REQUIRE(plain["domain"] == "plain.bundle.example");
  const KeyMaterial& material = (*keys)[2];
  std::string bound = "bundle";
  for (const std::string& part :
       {std::string("active"), std::to_string(material.info.created_at), std::to_string(material.info.activated_at),
        std::to_string(material.info.retired_at), std::to_string(material.info.revoked_at),
        std::string(material.info.activate_after_dns ? "1" : "0")}) {
    bound += '\0';
    bound += part;
  }
  bound += '\0';
  bound += sealed_key_binding("ed25519-sha256", material.info.bits, material.info.dns_record);
  auto sealed = kek_of(7).seal(material.pem, material.domain, material.info.selector, bound);
  REQUIRE(sealed);
  plain["sealed_key"] = dkr::signer::base64_encode(*sealed);
  json["keys"] = nlohmann::json::array({plain});
  write_text(bundle, json.dump());
  auto old = read_key_bundle(bundle, kek_of(7));
  REQUIRE(old);
  REQUIRE(old->size() == 1);
  CHECK((*old)[0].pem == material.pem);
  CHECK_FALSE((*old)[0].delegated);
  CHECK((*old)[0].info.slot.empty());
}
