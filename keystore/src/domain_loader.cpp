#include "domain_loader.hpp"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>

#include "domain_metadata.hpp"
#include "domain_snapshot.hpp"
#include "durable_file.hpp"
#include "keystore/dns_record.hpp"

namespace dkr::keystore {
namespace {

std::int64_t nanoseconds(const timespec& t) { return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec; }

DomainLoad broken(const std::string& domain, const std::filesystem::path& file, std::string reason) {
  return DomainLoad{nullptr, LoadProblem{domain, file.string(), std::move(reason)}};
}

std::shared_ptr<const KeySlot> find_slot(const DomainEntry* entry, std::string_view selector) {
  if (entry == nullptr) return nullptr;
  for (const auto& slot : entry->keys) {
    if (slot->selector() == selector) return slot;
  }
  return nullptr;
}

std::string octal_mode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

}  // namespace

std::optional<FileStamp> stamp_file(const std::filesystem::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return std::nullopt;
  return FileStamp{st.st_dev,         st.st_ino, st.st_size, nanoseconds(st.st_mtim), nanoseconds(st.st_ctim),
                   st.st_mode & 07777};
}

const std::shared_ptr<const signer::SigningKey>& KeySlot::key() const {
  std::call_once(once_, [this] { parse(); });
  return key_;
}

void KeySlot::parse() const {
  auto pem = read_file(file_);
  if (!pem) {
    error_ = pem.error().message;
    return;
  }
  auto parsed = options_.vault->open(*pem, options_.policy);
  OPENSSL_cleanse(pem->data(), pem->size());
  if (!parsed) {
    error_ = parsed.error().message;
    return;
  }
  if (parsed->algorithm() != info_.algorithm) {
    error_ = "keys.json says " + std::string(signer::to_string(info_.algorithm)) + " but the key file holds a " +
             std::string(signer::to_string(parsed->algorithm())) + " key";
    return;
  }
  if (parsed->algorithm() == signer::Algorithm::RsaSha256 && parsed->bits() != info_.bits) {
    error_ = "keys.json says " + std::to_string(info_.bits) + " bits but the key file holds a " +
             std::to_string(parsed->bits()) + "-bit key";
    return;
  }
  // Never sign with a key whose public half differs from the record we tell operators to publish.
  if (!info_.dns_record.empty() && parsed->dns_record() != info_.dns_record) {
    error_ = "key file does not match the public key recorded in keys.json";
    return;
  }
  key_ = std::make_shared<const signer::SigningKey>(std::move(*parsed));
}

const std::shared_ptr<const SigningSet>& DomainEntry::signing_set() const {
  std::call_once(signing_once_, [this] {
    if (!has_active) return;
    signing_ = make_signing_set(info, keys, [this](const KeySlot& slot) {
      spdlog::error("keystore: cannot load {}: {}: {}", info.domain, slot.file().string(), slot.error());
    });
  });
  return signing_;
}

std::optional<LoadProblem> DomainEntry::parse_all() const {
  for (const auto& slot : keys) {
    if (!slot->key()) return LoadProblem{info.domain, slot->file().string(), slot->error()};
  }
  (void)signing_set();
  return std::nullopt;
}

DomainLoad load_domain(const std::filesystem::path& root, const std::string& domain,
                       const std::shared_ptr<const DomainEntry>& previous, const DomainLoadOptions& options,
                       bool parse_keys, const DomainMetadata* written) {
  const std::filesystem::path dir = root / domain;
  const std::filesystem::path metadata_file = dir / kMetadataFile;
  const auto metadata_stamp = stamp_file(metadata_file);
  // A folder without keys.json is an interrupted add (its PEM files are orphans) or not ours.
  if (!metadata_stamp) return DomainLoad{};

  if (previous && previous->metadata_stamp == *metadata_stamp) {
    bool unchanged = true;
    for (const auto& slot : previous->keys) {
      const auto stamp = stamp_file(slot->file());
      unchanged = unchanged && stamp && *stamp == slot->stamp();
      if (!unchanged) break;
    }
    if (unchanged) return DomainLoad{previous, std::nullopt};
  }

  std::optional<DomainMetadata> metadata;
  if (written != nullptr) {
    metadata = *written;
  } else {
    auto json = read_file(metadata_file);
    if (!json) return broken(domain, metadata_file, json.error().message);
    auto parsed = parse_metadata(*json, domain);
    if (!parsed) return broken(domain, metadata_file, parsed.error().message);
    metadata = std::move(*parsed);
  }

  auto entry = std::make_shared<DomainEntry>();
  entry->metadata_stamp = *metadata_stamp;
  entry->info.domain = domain;
  entry->info.delegated = metadata->delegated;
  entry->info.rotation = metadata->rotation;
  entry->info.publish_error = metadata->publish_error;
  for (SelectorInfo& info : metadata->selectors) {
    if (info.state == KeyState::Revoked) {
      info.dns_record = std::string(kRevokedKeyRecord);
      entry->info.selectors.push_back(std::move(info));
      continue;
    }
    const std::filesystem::path key_file = key_file_path(dir, info.selector);
    const auto stamp = stamp_file(key_file);
    if (!stamp) return broken(domain, key_file, "key file missing for selector '" + info.selector + "'");
    if ((stamp->mode & 077) != 0 && !options.allow_group_readable_keys) {
      return broken(domain, key_file,
                    "key file is accessible by group or others (mode " + octal_mode(stamp->mode) +
                        "); chmod 600 it, or allow group-readable keys in the configuration");
    }
    std::shared_ptr<const KeySlot> slot = find_slot(previous.get(), info.selector);
    if (!slot || slot->stamp() != *stamp) slot = std::make_shared<const KeySlot>(key_file, *stamp, info, options);
    if (info.dns_record.empty()) {
      // keys.json written without the record (by hand or an older version): the key gives it.
      if (!slot->key()) return broken(domain, key_file, slot->error());
      info.dns_record = slot->key()->dns_record();
    }
    if (parse_keys && !slot->key()) return broken(domain, key_file, slot->error());
    entry->has_active = entry->has_active || info.state == KeyState::Active;
    entry->keys.push_back(std::move(slot));
    entry->info.selectors.push_back(std::move(info));
  }
  if (parse_keys) (void)entry->signing_set();
  return DomainLoad{std::move(entry), std::nullopt};
}

}  // namespace dkr::keystore
