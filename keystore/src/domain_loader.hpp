#pragma once
// Turns one domain folder into an immutable in-memory entry, reusing what did not change.
//
// Parsing a private key costs OpenSSL 3 a few hundred microseconds (its decoder set-up), so at
// 100,000 domains an eager open() takes minutes. open() therefore reads keys.json and stats the
// key files (existence, permissions) but parses a key on first use; changed domains found by
// reload() and domains written by this process are parsed at once, so a broken file is caught
// before it replaces a working entry.
#include <sys/stat.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "keystore/directory_key_store.hpp"

namespace dkr::keystore {

// Identifies one version of a file: every write we do is a rename (new inode), and ctime also
// moves on chmod, so a changed stamp means the file must be read again.
struct FileStamp {
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
  mode_t mode = 0;
  friend bool operator==(const FileStamp&, const FileStamp&) = default;
};
std::optional<FileStamp> stamp_file(const std::filesystem::path& file);

struct DomainLoadOptions {
  signer::KeyPolicy policy;
  bool allow_group_readable_keys = false;
  std::shared_ptr<const PrivateKeyVault> vault;  // opens the key files' contents
};

// One selector's key file, parsed at most once.
class KeySlot {
 public:
  KeySlot(std::filesystem::path file, FileStamp stamp, SelectorInfo info, DomainLoadOptions options)
      : file_(std::move(file)), stamp_(stamp), info_(std::move(info)), options_(options) {}

  const std::string& selector() const { return info_.selector; }
  const FileStamp& stamp() const { return stamp_; }
  const std::filesystem::path& file() const { return file_; }
  // The parsed key, or null with error() set. The key must match keys.json's algorithm and size
  // and, when keys.json records it, the published DNS record.
  const std::shared_ptr<const signer::SigningKey>& key() const;
  const std::string& error() const { return error_; }

 private:
  void parse() const;

  std::filesystem::path file_;
  FileStamp stamp_;
  SelectorInfo info_;
  DomainLoadOptions options_;
  mutable std::once_flag once_;
  mutable std::shared_ptr<const signer::SigningKey> key_;
  mutable std::string error_;
};

struct DomainEntry {
  DomainInfo info;
  FileStamp metadata_stamp;
  std::vector<std::shared_ptr<const KeySlot>> keys;  // every selector that is not revoked
  bool has_active = false;

  // The active keys, built on first use; null when the domain has no usable active key.
  const std::shared_ptr<const SigningSet>& signing_set() const;
  // Parses every key now; the first failure, if any.
  std::optional<LoadProblem> parse_all() const;

 private:
  mutable std::once_flag signing_once_;
  mutable std::shared_ptr<const SigningSet> signing_;
};

struct DomainLoad {
  std::shared_ptr<const DomainEntry> entry;  // null: the folder holds no domain (or is broken)
  std::optional<LoadProblem> problem;
};

struct DomainMetadata;

// `previous` (may be null) is the entry currently served; unchanged files are not read again.
// `written` is the keys.json content this process has just written (under the store lock), which
// then need not be read back. `parse_keys`: parse new key files now (else on first use).
DomainLoad load_domain(const std::filesystem::path& root, const std::string& domain,
                       const std::shared_ptr<const DomainEntry>& previous, const DomainLoadOptions& options,
                       bool parse_keys, const DomainMetadata* written = nullptr);

}  // namespace dkr::keystore
