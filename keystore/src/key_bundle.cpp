// The key bundle of `keys export bundle` / `keys import bundle`: JSON, one object per key with its
// selector metadata and its private key sealed under a KEK exactly as the PostgreSQL store seals it
// (key_envelope.hpp), so the bundle can be kept or moved where the database's rows could.
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include "common/base64.hpp"
#include "durable_file.hpp"
#include "keystore/domain_name.hpp"
#include "keystore/key_transfer.hpp"

namespace dkr::keystore {
namespace {

constexpr std::string_view kFormat = "dkim-relay-key-bundle";
// Version 2 binds every key's state, timestamps and public data to its sealed key (version 1 left
// them editable without the KEK: a revoked key could come back active).
constexpr int kVersion = 2;

// What a bundle entry's sealed key is bound to besides its domain and selector.
std::string bundle_binding(const SelectorInfo& info, bool delegated) {
  std::string bound = "bundle";
  bound += '\0';
  bound += to_string(info.state);
  for (const std::int64_t time : {info.created_at, info.activated_at, info.retired_at, info.revoked_at}) {
    bound += '\0';
    bound += std::to_string(time);
  }
  bound += '\0';
  bound += info.activate_after_dns ? "1" : "0";
  bound += '\0';
  bound += sealed_key_binding(signer::to_string(info.algorithm), info.bits, info.dns_record);
  // Delegated domains (additive): bound only when present, so bundles written before still open.
  if (!info.slot.empty()) {
    bound += '\0';
    bound += "slot=" + info.slot;
  }
  if (delegated) bound += std::string_view("\0delegated", 10);
  return bound;
}

std::optional<std::string> unbase64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string bytes(text.size() / 4 * 3 + 1, '\0');
  const int length =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(bytes.data()),
                      reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (length < 0) return std::nullopt;
  std::size_t padding = 0;
  for (auto it = text.rbegin(); it != text.rend() && *it == '=' && padding < 2; ++it) ++padding;
  bytes.resize(static_cast<std::size_t>(length) - padding);
  return bytes;
}

}  // namespace

KeyMaterial::KeyMaterial(std::string domain_name, SelectorInfo selector, std::string private_pem)
    : domain(std::move(domain_name)), info(std::move(selector)), pem(std::move(private_pem)) {}

KeyMaterial::~KeyMaterial() { OPENSSL_cleanse(pem.data(), pem.size()); }

Result<void> write_key_bundle(const std::filesystem::path& file, const std::vector<KeyMaterial>& keys, const Kek& kek) {
  std::error_code ec;
  if (std::filesystem::exists(file, ec)) {
    return make_error(ErrorCode::conflict, file.string() + " exists; the bundle is not written over another file");
  }
  nlohmann::json entries = nlohmann::json::array();
  for (const KeyMaterial& key : keys) {
    auto sealed = kek.seal(key.pem, key.domain, key.info.selector, bundle_binding(key.info, key.delegated));
    if (!sealed) return sealed.error();
    entries.push_back({{"domain", key.domain},
                       {"selector", key.info.selector},
                       {"algorithm", signer::to_string(key.info.algorithm)},
                       {"bits", key.info.bits},
                       {"state", to_string(key.info.state)},
                       {"created_at", key.info.created_at},
                       {"activated_at", key.info.activated_at},
                       {"retired_at", key.info.retired_at},
                       {"revoked_at", key.info.revoked_at},
                       {"activate_after_dns", key.info.activate_after_dns},
                       {"dns_record", key.info.dns_record},
                       {"sealed_key", base64_encode(*sealed)}});
    // Additive, written only when set: older readers ignore them, older bundles have none.
    if (!key.info.slot.empty()) entries.back()["slot"] = key.info.slot;
    if (key.delegated) entries.back()["delegated"] = true;
  }
  const nlohmann::json bundle = {
      {"format", kFormat},
      {"version", kVersion},
      {"sealing",
       "AES-256-GCM; sealed_key = base64(nonce(12) || ciphertext || tag(16)); associated data "
       "\"dkim-relay key v2\\0\" domain \"\\0\" selector \"\\0bundle\\0\" state \"\\0\" created_at \"\\0\" "
       "activated_at \"\\0\" retired_at \"\\0\" revoked_at \"\\0\" activate_after_dns(0|1) \"\\0\" algorithm "
       "\"\\0\" bits \"\\0\" dns_record [\"\\0slot=\" slot, when set] [\"\\0delegated\", when the domain is "
       "delegated]"},
      {"keys", std::move(entries)}};
  return write_file_durably(file, bundle.dump(2) + "\n", 0600);
}

Result<std::vector<KeyMaterial>> read_key_bundle(const std::filesystem::path& file, const Kek& kek) {
  auto text = read_file(file);
  if (!text) return text.error();
  const std::string where = "key bundle " + file.string();
  nlohmann::json bundle;
  try {
    bundle = nlohmann::json::parse(*text);
  } catch (const nlohmann::json::exception& e) {
    return make_error(ErrorCode::invalid, where + ": not JSON: " + e.what());
  }
  if (!bundle.is_object() || bundle.value("format", "") != kFormat) {
    return make_error(ErrorCode::invalid,
                      where + ": not a dkim-relay key bundle (format is not \"" + std::string(kFormat) + "\")");
  }
  if (bundle.value("version", 0) == 1) {
    return make_error(ErrorCode::invalid, where +
                                              ": bundle version 1 does not authenticate the keys' state and "
                                              "timestamps; export the keys again with this dkim-relay");
  }
  if (bundle.value("version", 0) != kVersion) {
    return make_error(ErrorCode::invalid, where + ": bundle version " +
                                              bundle.value("version", nlohmann::json()).dump() +
                                              " is not one this build reads (" + std::to_string(kVersion) + ")");
  }
  if (!bundle.contains("keys") || !bundle["keys"].is_array()) {
    return make_error(ErrorCode::invalid, where + ": \"keys\" must be an array");
  }
  std::vector<KeyMaterial> keys;
  std::size_t index = 0;
  for (const nlohmann::json& entry : bundle["keys"]) {
    ++index;
    const std::string name = "key " + std::to_string(index);
    try {
      KeyMaterial key;
      key.domain = entry.at("domain").get<std::string>();
      key.info.selector = entry.at("selector").get<std::string>();
      const auto algorithm = signer::parse_algorithm(entry.at("algorithm").get<std::string>());
      const auto state = parse_key_state(entry.at("state").get<std::string>());
      if (!algorithm || !state)
        return make_error(ErrorCode::invalid, where + ": " + name + ": unknown algorithm or state");
      key.info.algorithm = *algorithm;
      key.info.state = *state;
      key.info.bits = entry.at("bits").get<int>();
      key.info.created_at = entry.at("created_at").get<std::int64_t>();
      key.info.activated_at = entry.at("activated_at").get<std::int64_t>();
      key.info.retired_at = entry.at("retired_at").get<std::int64_t>();
      key.info.revoked_at = entry.at("revoked_at").get<std::int64_t>();
      key.info.activate_after_dns = entry.at("activate_after_dns").get<bool>();
      key.info.dns_record = entry.at("dns_record").get<std::string>();
      key.info.slot = entry.value("slot", std::string());
      key.delegated = entry.value("delegated", false);
      if (!key.info.slot.empty()) {
        auto slot = normalize_selector(key.info.slot);
        if (!slot || *slot != key.info.slot)
          return make_error(ErrorCode::invalid, where + ": " + name + ": invalid slot '" + key.info.slot + "'");
      }
      const auto sealed = unbase64(entry.at("sealed_key").get<std::string>());
      if (!sealed) return make_error(ErrorCode::invalid, where + ": " + name + ": sealed_key is not base64");
      auto pem = kek.open(*sealed, key.domain, key.info.selector, bundle_binding(key.info, key.delegated));
      if (!pem) {
        return make_error(ErrorCode::invalid, where + ": cannot decrypt the private key of " + key.domain +
                                                  " selector " + key.info.selector + " (" + name +
                                                  "): is --kek the KEK the bundle was written with, and is the "
                                                  "entry (state, timestamps, record) as exported? (" +
                                                  pem.error().message + ")");
      }
      key.pem = std::move(*pem);
      keys.push_back(std::move(key));
    } catch (const nlohmann::json::exception& e) {
      return make_error(ErrorCode::invalid, where + ": " + name + ": " + e.what());
    }
  }
  return keys;
}

}  // namespace dkr::keystore
