#include "domain_metadata.hpp"

#include <nlohmann/json.hpp>

#include "durable_file.hpp"
#include "keystore/domain_name.hpp"

namespace dkr::keystore {
namespace {

constexpr int kFormatVersion = 1;

std::string json_escaped(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (static_cast<unsigned char>(c) < 0x20) continue;  // never in a DKIM key record
    out.push_back(c);
  }
  return out;
}

}  // namespace

// Free text from DNS (reason, TXT values) goes through nlohmann, which escapes it and replaces
// invalid UTF-8, so a hostile TXT record cannot break keys.json.
std::string dns_check_json(const DnsCheck& check) {
  const nlohmann::json out = {
      {"status", check.status}, {"reason", check.reason}, {"found", check.found}, {"checked_at", check.checked_at}};
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string publish_error_json(const PublishError& error) {
  const nlohmann::json out = {
      {"error", error.error}, {"rcode", error.rcode}, {"at", error.at}, {"retry_at", error.retry_at}};
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string rotation_json(const RotationOverride& rotation) {
  nlohmann::json out = {{"opt_out", rotation.opt_out}};
  auto put = [&](const char* key, const std::optional<std::int64_t>& value) {
    if (value) out[key] = *value;
  };
  put("interval", rotation.interval);
  put("retire_after", rotation.retire_after);
  put("delete_after", rotation.delete_after);
  put("dns_timeout", rotation.dns_timeout);
  return out.dump();
}

namespace {

Result<RotationOverride> parse_rotation(const nlohmann::json& item) {
  if (!item.is_object()) return make_error("\"rotation\" is not an object");
  RotationOverride rotation;
  rotation.opt_out = item.value("opt_out", false);
  for (auto [key, field] :
       {std::pair{"interval", &rotation.interval}, std::pair{"retire_after", &rotation.retire_after},
        std::pair{"delete_after", &rotation.delete_after}, std::pair{"dns_timeout", &rotation.dns_timeout}}) {
    if (!item.contains(key) || item.at(key).is_null()) continue;
    const auto seconds = item.at(key).get<std::int64_t>();
    if (seconds <= 0) return make_error("rotation." + std::string(key) + " is not a positive number of seconds");
    *field = seconds;
  }
  return rotation;
}

DnsCheck parse_dns_check(const nlohmann::json& item) {
  DnsCheck check;
  if (!item.is_object()) return check;
  check.status = item.value("status", std::string());
  check.reason = item.value("reason", std::string());
  if (item.contains("found") && item.at("found").is_array()) {
    for (const auto& value : item.at("found")) {
      if (value.is_string()) check.found.push_back(value.get<std::string>());
    }
  }
  check.checked_at = item.value("checked_at", std::int64_t{0});
  return check;
}

PublishError parse_publish_error(const nlohmann::json& item) {
  PublishError error;
  if (!item.is_object()) return error;
  error.error = item.value("error", std::string());
  error.rcode = item.value("rcode", std::string());
  error.at = item.value("at", std::int64_t{0});
  error.retry_at = item.value("retry_at", std::int64_t{0});
  return error;
}

}  // namespace

PublishError publish_error_from_json(std::string_view json) {
  const nlohmann::json document = nlohmann::json::parse(json, nullptr, false);
  if (document.is_discarded()) return {};
  try {
    return parse_publish_error(document);
  } catch (const nlohmann::json::exception&) {
    return {};
  }
}

Result<RotationOverride> rotation_from_json(std::string_view json) {
  const nlohmann::json document = nlohmann::json::parse(json, nullptr, false);
  if (document.is_discarded()) return make_error("rotation: not valid JSON");
  try {
    return parse_rotation(document);
  } catch (const nlohmann::json::exception& e) {
    return make_error(std::string("rotation: malformed: ") + e.what());
  }
}

DnsCheck dns_check_from_json(std::string_view json) {
  const nlohmann::json document = nlohmann::json::parse(json, nullptr, false);
  if (document.is_discarded()) return {};
  try {
    return parse_dns_check(document);
  } catch (const nlohmann::json::exception&) {
    return {};
  }
}

SelectorInfo* DomainMetadata::find(std::string_view selector) {
  for (SelectorInfo& info : selectors) {
    if (info.selector == selector) return &info;
  }
  return nullptr;
}

const SelectorInfo* DomainMetadata::find(std::string_view selector) const {
  return const_cast<DomainMetadata*>(this)->find(selector);
}

std::filesystem::path key_file_path(const std::filesystem::path& domain_dir, std::string_view selector) {
  return domain_dir / (std::string(selector) + ".pem");
}

std::string serialize_metadata(const DomainMetadata& metadata) {
  // Written by hand (parsed with nlohmann): every string is a validated domain, selector or
  // keyword that needs no escaping, and this runs on every key store write.
  std::string out =
      "{\n  \"version\": " + std::to_string(kFormatVersion) + ",\n  \"domain\": \"" + metadata.domain + "\",\n";
  // Additive fields, written only when set, so files of non-delegated domains stay as they were.
  if (metadata.delegated) out += "  \"delegated\": true,\n";
  out += "  \"selectors\": [";
  const char* separator = "\n";
  for (const SelectorInfo& info : metadata.selectors) {
    out += separator;
    separator = ",\n";
    out += "    {\"selector\": \"" + info.selector + "\", ";
    if (!info.slot.empty()) out += "\"slot\": \"" + info.slot + "\", ";
    out += "\"algorithm\": \"";
    out += signer::to_string(info.algorithm);
    out += "\", \"bits\": " + std::to_string(info.bits) + ", \"state\": \"";
    out += to_string(info.state);
    out += "\",\n     \"created_at\": " + std::to_string(info.created_at) +
           ", \"activated_at\": " + std::to_string(info.activated_at) +
           ", \"retired_at\": " + std::to_string(info.retired_at) +
           ", \"revoked_at\": " + std::to_string(info.revoked_at) +
           ", \"activate_after_dns\": " + (info.activate_after_dns ? "true" : "false") + ",\n     \"dns_record\": \"" +
           json_escaped(info.dns_record) + "\"";
    if (info.dns_check != DnsCheck{}) out += ",\n     \"dns_check\": " + dns_check_json(info.dns_check);
    out += "}";
  }
  out += metadata.selectors.empty() ? "]" : "\n  ]";
  if (!metadata.rotation.empty()) out += ",\n  \"rotation\": " + rotation_json(metadata.rotation);
  if (!metadata.publish_error.empty()) out += ",\n  \"publish_error\": " + publish_error_json(metadata.publish_error);
  out += "\n}\n";
  return out;
}

Result<DomainMetadata> parse_metadata(std::string_view json, std::string_view expected_domain) {
  const nlohmann::json document = nlohmann::json::parse(json, nullptr, false);
  if (document.is_discarded()) return make_error("not valid JSON");
  try {
    if (!document.is_object()) return make_error("top level is not an object");
    if (document.at("version").get<int>() != kFormatVersion) {
      return make_error("unsupported version " + document.at("version").dump());
    }
    DomainMetadata metadata;
    metadata.domain = document.at("domain").get<std::string>();
    if (metadata.domain != expected_domain) {
      return make_error("names domain '" + metadata.domain + "' but lies in folder '" + std::string(expected_domain) +
                        "'");
    }
    metadata.delegated = document.value("delegated", false);
    bool active_seen[2] = {false, false};
    for (const nlohmann::json& item : document.at("selectors")) {
      SelectorInfo info;
      info.selector = item.at("selector").get<std::string>();
      auto selector = normalize_selector(info.selector);
      if (!selector || *selector != info.selector) {
        return make_error("invalid selector '" + info.selector + "'");
      }
      info.slot = item.value("slot", std::string());
      if (!info.slot.empty()) {
        auto slot = normalize_selector(info.slot);
        if (!slot || *slot != info.slot) return make_error("invalid slot '" + info.slot + "'");
      }
      if (metadata.find(info.selector) != nullptr) {
        return make_error("selector '" + info.selector + "' listed twice");
      }
      const auto algorithm = signer::parse_algorithm(item.at("algorithm").get<std::string>());
      if (!algorithm) return make_error("unknown algorithm of selector '" + info.selector + "'");
      info.algorithm = *algorithm;
      info.bits = item.at("bits").get<int>();
      const auto state = parse_key_state(item.at("state").get<std::string>());
      if (!state) return make_error("unknown state of selector '" + info.selector + "'");
      info.state = *state;
      info.created_at = item.value("created_at", std::int64_t{0});
      info.activated_at = item.value("activated_at", std::int64_t{0});
      info.retired_at = item.value("retired_at", std::int64_t{0});
      info.revoked_at = item.value("revoked_at", std::int64_t{0});
      info.activate_after_dns = item.value("activate_after_dns", false);
      // The record published for the key; lets open() skip parsing every key file.
      info.dns_record = item.value("dns_record", std::string());
      // A display aid: an unreadable one is dropped, never a reason to refuse the domain's keys.
      if (item.contains("dns_check")) info.dns_check = dns_check_from_json(item.at("dns_check").dump());
      if (info.state == KeyState::Active) {
        bool& seen = active_seen[info.algorithm == signer::Algorithm::RsaSha256 ? 0 : 1];
        if (seen) {
          return make_error("more than one active " + std::string(signer::to_string(info.algorithm)) + " key");
        }
        seen = true;
      }
      metadata.selectors.push_back(std::move(info));
    }
    if (document.contains("rotation")) {
      auto rotation = parse_rotation(document.at("rotation"));
      if (!rotation) return rotation.error();
      metadata.rotation = *rotation;
    }
    // A display aid like dns_check: an unreadable one is dropped.
    if (document.contains("publish_error")) {
      metadata.publish_error = publish_error_from_json(document.at("publish_error").dump());
    }
    return metadata;
  } catch (const nlohmann::json::exception& e) {
    return make_error(std::string("malformed: ") + e.what());
  }
}

Result<std::optional<DomainMetadata>> read_metadata(const std::filesystem::path& root, const std::string& domain) {
  const std::filesystem::path file = root / domain / kMetadataFile;
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return std::optional<DomainMetadata>{};
  auto content = read_file(file);
  if (!content) return content.error();
  auto metadata = parse_metadata(*content, domain);
  if (!metadata) return make_error(file.string() + ": " + metadata.error().message);
  return std::optional<DomainMetadata>(std::move(*metadata));
}

Result<bool> apply_state_changes(DomainMetadata& metadata, const std::vector<StateChange>& changes, std::int64_t now,
                                 std::vector<std::string>& removed) {
  if (changes.empty()) return false;
  DomainMetadata next = metadata;
  std::vector<std::string> gone;
  for (const StateChange& change : changes) {
    SelectorInfo* info = next.find(change.selector);
    if (info == nullptr || info->state != change.from) return false;  // stale: decided from an old reading
    if (!change.to) {
      gone.push_back(change.selector);
      std::erase_if(next.selectors, [&](const SelectorInfo& key) { return key.selector == change.selector; });
      continue;
    }
    info->state = *change.to;
    switch (*change.to) {
      case KeyState::Active:
        info->activated_at = now;
        info->activate_after_dns = false;
        info->dns_check = {};
        break;
      case KeyState::Retiring:
        info->retired_at = now;
        break;
      case KeyState::Revoked:
        info->revoked_at = now;
        info->activate_after_dns = false;
        info->dns_check = {};
        break;
      case KeyState::Staged:
        break;
    }
  }
  bool active_seen[2] = {false, false};
  for (const SelectorInfo& info : next.selectors) {
    if (info.state != KeyState::Active) continue;
    bool& seen = active_seen[info.algorithm == signer::Algorithm::RsaSha256 ? 0 : 1];
    if (seen) {
      return make_error(ErrorCode::conflict, "domain " + metadata.domain + " cannot hold two active " +
                                                 std::string(signer::to_string(info.algorithm)) + " keys");
    }
    seen = true;
  }
  metadata = std::move(next);
  removed.insert(removed.end(), gone.begin(), gone.end());
  return true;
}

bool apply_dns_check(DomainMetadata& metadata, std::string_view selector, const DnsCheck& check) {
  // As stored (invalid UTF-8 replaced), so that the same finding next round compares equal.
  const DnsCheck stored = dns_check_from_json(dns_check_json(check));
  SelectorInfo* info = metadata.find(selector);
  if (info == nullptr || info->state != KeyState::Staged || info->dns_check == stored) return false;
  info->dns_check = stored;
  return true;
}

bool apply_publish_error(DomainMetadata& metadata, const PublishError& error) {
  const PublishError stored = error.empty() ? PublishError{} : publish_error_from_json(publish_error_json(error));
  if (metadata.publish_error == stored) return false;
  metadata.publish_error = stored;
  return true;
}

Result<void> check_stage_guards(const DomainMetadata& metadata, const KeyParams& params) {
  if (params.unless_staged) {
    if (auto free = check_unless_staged(metadata, params.algorithm); !free) return free.error();
  }
  if (params.replacing) {
    const SelectorInfo* old = metadata.find(*params.replacing);
    if (old == nullptr || old->state != KeyState::Active || old->algorithm != params.algorithm) {
      return make_error(ErrorCode::conflict, "key " + *params.replacing + " of " + metadata.domain +
                                                 " is no longer the active key it was to replace");
    }
  }
  return {};
}

Result<void> check_unless_staged(const DomainMetadata& metadata, signer::Algorithm algorithm) {
  for (const SelectorInfo& info : metadata.selectors) {
    if (info.state == KeyState::Staged && info.algorithm == algorithm) {
      return make_error(ErrorCode::conflict, "domain " + metadata.domain + " already has staged " +
                                                 std::string(signer::to_string(algorithm)) + " key " + info.selector);
    }
  }
  return {};
}

}  // namespace dkr::keystore
