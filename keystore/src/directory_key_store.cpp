#include "keystore/directory_key_store.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <ctime>
#include <unordered_map>

#include "common/private_directory.hpp"
#include "domain_loader.hpp"
#include "domain_metadata.hpp"
#include "domain_snapshot.hpp"
#include "durable_file.hpp"
#include "incoming_key.hpp"
#include "keystore/domain_name.hpp"
#include "selector_pattern.hpp"
#include "store_lock.hpp"
#include "common/ascii.hpp"

namespace dkr::keystore {
namespace {

std::atomic<unsigned> graveyard_counter{0};

std::vector<std::string> list_directory(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  DIR* handle = ::opendir(dir.c_str());
  if (handle == nullptr) return names;
  while (const dirent* entry = ::readdir(handle)) {
    const std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  ::closedir(handle);
  return names;
}

bool is_real_directory(const std::filesystem::path& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool has_suffix(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

void remove_quietly(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec)
    spdlog::warn("keystore: cannot remove {}: {}", path.string(), ec.message());
  else
    spdlog::info("keystore: removed leftover {}", path.string());
}

// Removes what an interrupted write left behind. Only called with the exclusive store lock, so no
// writer of any process is between its PEM write and its metadata rename.
void clean_domain_folder(const std::filesystem::path& dir, const DomainEntry* entry) {
  std::vector<std::string> names = list_directory(dir);
  bool only_leftovers = true;
  for (const std::string& name : names) {
    const bool temp = is_temp_file(name);
    const bool pem = has_suffix(name, ".pem");
    bool orphan = false;
    if (pem && entry != nullptr) {
      const std::string_view selector = std::string_view(name).substr(0, name.size() - 4);
      orphan = std::none_of(entry->info.selectors.begin(), entry->info.selectors.end(),
                            [&](const SelectorInfo& info) { return info.selector == selector; });
    }
    if (temp || orphan || (pem && entry == nullptr)) {
      if (entry != nullptr || temp) remove_quietly(dir / name);
    } else {
      only_leftovers = false;
    }
  }
  if (entry == nullptr && only_leftovers) {
    // A domain folder whose keys.json was never renamed into place: an interrupted add.
    for (const std::string& name : names) remove_quietly(dir / name);
    if (::rmdir(dir.c_str()) == 0) spdlog::info("keystore: removed empty {}", dir.string());
  }
}

}  // namespace

std::string to_string(const LoadProblem& problem) {
  return problem.domain + ": " + problem.file + ": " + problem.reason;
}

struct DirectoryKeyStore::Transaction {
  std::string domain;
  DomainMetadata after;
  bool remove_domain = false;
  std::vector<std::pair<std::string, std::string>> new_keys;  // selector, private PEM (secret)
  std::vector<std::string> removed_keys;                      // PEM files to delete afterwards

  ~Transaction() {
    for (auto& [selector, pem] : new_keys) OPENSSL_cleanse(pem.data(), pem.size());
  }
};

DirectoryKeyStore::DirectoryKeyStore(DirectoryKeyStoreOptions options)
    : options_(std::move(options)), snapshot_(Snapshot::empty()) {
  if (!options_.vault) options_.vault = store_vault();
}

DirectoryKeyStore::~DirectoryKeyStore() = default;

Result<std::unique_ptr<DirectoryKeyStore>> DirectoryKeyStore::open(const DirectoryKeyStoreOptions& options) {
  if (options.path.empty()) return make_error("key store path is empty");
  std::error_code ec;
  if (!std::filesystem::exists(options.path, ec)) {
    if (!options.path.parent_path().empty()) {
      if (auto made = create_private_directories(options.path.parent_path()); !made) return made.error();
    }
    if (auto made = make_directory_durably(options.path, 0700); !made) return made.error();
  } else if (!is_real_directory(options.path)) {
    return make_error("key store path " + options.path.string() + " is not a directory");
  } else {
    struct stat st {};
    if (::stat(options.path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
      spdlog::warn("keystore: {} is accessible by group or others; chmod 700 it", options.path.string());
    }
  }
  std::unique_ptr<DirectoryKeyStore> store(new DirectoryKeyStore(options));
  std::lock_guard guard(store->write_mutex_);
  auto loaded = store->reload_all(/*clean=*/true);
  if (!loaded) spdlog::error("keystore: {}", loaded.error().message);
  return store;
}

std::int64_t DirectoryKeyStore::now() const {
  return options_.clock ? options_.clock() : static_cast<std::int64_t>(std::time(nullptr));
}

void DirectoryKeyStore::step(std::string_view name) const {
  if (options_.write_step_hook) options_.write_step_hook(name);
}

std::shared_ptr<const DirectoryKeyStore::Snapshot> DirectoryKeyStore::current() const {
  return std::atomic_load_explicit(&snapshot_, std::memory_order_acquire);
}

void DirectoryKeyStore::publish(std::shared_ptr<const Snapshot> next) {
  std::atomic_store_explicit(&snapshot_, std::move(next), std::memory_order_release);
}

std::shared_ptr<const SigningSet> DirectoryKeyStore::signer_for(std::string_view from_domain) const {
  return current()->signer_for(from_domain);
}

std::vector<DomainInfo> DirectoryKeyStore::list() const { return current()->list(); }

Result<DomainInfo> DirectoryKeyStore::domain(std::string_view domain) const { return current()->domain(domain); }

KeyStoreStats DirectoryKeyStore::stats() const { return current()->stats(); }

std::vector<LoadProblem> DirectoryKeyStore::check_keys() const {
  const auto snapshot = current();
  std::vector<LoadProblem> found;
  snapshot->for_each([&](const std::string&, const DomainEntry& entry) {
    if (auto problem = entry.parse_all()) found.push_back(std::move(*problem));
  });
  std::sort(found.begin(), found.end(), [](const LoadProblem& a, const LoadProblem& b) { return a.domain < b.domain; });
  return found;
}

std::vector<LoadProblem> DirectoryKeyStore::problems() const {
  std::lock_guard guard(problems_mutex_);
  return problems_;
}

Result<void> DirectoryKeyStore::commit(Transaction& transaction) {
  const std::filesystem::path root = options_.path;
  const std::filesystem::path dir = root / transaction.domain;
  if (transaction.remove_domain) {
    // One rename takes the whole domain out of the store; the graveyard is cleaned up afterwards
    // (or by the next open() after a crash).
    const std::filesystem::path graveyard =
        root / (std::string(".") + transaction.domain + ".deleted." + std::to_string(::getpid()) + "." +
                std::to_string(graveyard_counter.fetch_add(1)));
    if (::rename(dir.c_str(), graveyard.c_str()) != 0) {
      return make_error("cannot move " + dir.string() + " away: " + errno_text(errno));
    }
    if (auto synced = fsync_directory(root); !synced) return synced.error();
    step("domain-removed");
    destroy_private_keys(*options_.vault, graveyard);
    remove_quietly(graveyard);
    return refresh({transaction.domain});
  }
  if (!is_real_directory(dir)) {
    if (auto made = make_directory_durably(dir, 0700); !made) return made.error();
  }
  for (const auto& [selector, pem] : transaction.new_keys) {
    if (auto written = write_file_durably(key_file_path(dir, selector), pem, 0600); !written) {
      return written.error();
    }
    step("pem-written");
  }
  if (auto written = write_file_durably(dir / kMetadataFile, serialize_metadata(transaction.after), 0600); !written) {
    return written.error();
  }
  step("metadata-written");
  for (const std::string& selector : transaction.removed_keys) {
    destroy_private_key(*options_.vault, key_file_path(dir, selector));
    if (auto removed = remove_file(key_file_path(dir, selector)); !removed) {
      spdlog::warn("keystore: {}", removed.error().message);  // an orphan, cleaned on next open
    }
    step("pem-removed");
  }
  return refresh({transaction.domain}, &transaction.after);
}

Result<std::optional<DomainMetadata>> DirectoryKeyStore::metadata_on_disk(const std::string& domain) const {
  // Writers must start from what is on disk (another process may have changed it); when keys.json
  // is still the file this snapshot was loaded from, the snapshot already holds its contents.
  const auto snapshot = current();
  if (const auto* entry = snapshot->find(domain)) {
    const auto stamp = stamp_file(options_.path / domain / kMetadataFile);
    if (stamp && *stamp == (*entry)->metadata_stamp) {
      DomainMetadata metadata{domain, (*entry)->info.selectors, (*entry)->info.rotation};
      metadata.delegated = (*entry)->info.delegated;
      metadata.publish_error = (*entry)->info.publish_error;
      return std::optional<DomainMetadata>(std::move(metadata));
    }
  }
  return read_metadata(options_.path, domain);
}

Result<void> DirectoryKeyStore::refresh(const std::vector<std::string>& domains, const DomainMetadata* written) {
  const DomainLoadOptions load_options{{options_.allow_weak_rsa}, options_.allow_group_readable_keys, options_.vault};
  const auto snapshot = current();
  Snapshot::Changes changes;
  std::vector<LoadProblem> found;
  for (const std::string& domain : domains) {
    const auto* previous = snapshot->find(domain);
    DomainLoad load = load_domain(options_.path, domain, previous ? *previous : nullptr, load_options,
                                  /*parse_keys=*/true, written);
    if (load.problem) {
      found.push_back(std::move(*load.problem));
      continue;  // the domain keeps serving its previous state
    }
    if (previous == nullptr && !load.entry) continue;
    if (previous != nullptr && *previous == load.entry) continue;
    changes.emplace_back(domain, std::move(load.entry));
  }
  if (!changes.empty()) publish(snapshot->with(changes));

  std::string message;
  for (const LoadProblem& problem : found) message += (message.empty() ? "" : "; ") + to_string(problem);
  {
    std::lock_guard guard(problems_mutex_);
    std::erase_if(problems_, [&](const LoadProblem& problem) {
      return std::find(domains.begin(), domains.end(), problem.domain) != domains.end();
    });
    problems_.insert(problems_.end(), found.begin(), found.end());
  }
  if (!message.empty()) return make_error(message);
  return {};
}

Result<void> DirectoryKeyStore::reload_all(bool clean) {
  const std::filesystem::path& root = options_.path;
  std::optional<StoreLock> lock;
  if (clean) {
    lock.emplace(root, StoreLock::Mode::TryExclusive);
    if (!lock->held()) {
      clean = false;  // another process is writing: leave its files alone
      lock.reset();
    }
  }
  if (!lock) lock.emplace(root, StoreLock::Mode::Shared);

  const DomainLoadOptions load_options{{options_.allow_weak_rsa}, options_.allow_group_readable_keys, options_.vault};
  const auto previous = current();
  Snapshot::Changes entries;
  std::vector<LoadProblem> found;

  for (const std::string& name : list_directory(root)) {
    const std::filesystem::path path = root / name;
    if (name.front() == '.') {
      if (clean && (is_temp_file(name) || name.find(".deleted.") != std::string::npos)) {
        remove_quietly(path);
      }
      continue;
    }
    if (!is_real_directory(path)) continue;
    if (auto valid = validate_domain(name); !valid) {
      found.push_back(LoadProblem{name, path.string(),
                                  "folder name is not a lowercase domain name, ignored: " + valid.error().message});
      continue;
    }
    const auto* before = previous->find(name);
    // open() leaves key parsing to first use; reload() parses what changed before serving it.
    DomainLoad load = load_domain(root, name, before ? *before : nullptr, load_options, /*parse_keys=*/!clean);
    std::shared_ptr<const DomainEntry> entry = load.entry;
    if (load.problem) {
      found.push_back(std::move(*load.problem));
      if (before != nullptr) entry = *before;
    } else if (clean) {
      clean_domain_folder(path, entry.get());
    }
    if (entry) entries.emplace_back(name, std::move(entry));
  }
  publish(Snapshot::of(std::move(entries)));

  std::string message;
  for (const LoadProblem& problem : found) {
    spdlog::error("keystore: cannot load {}", to_string(problem));
    message += (message.empty() ? "" : "; ") + to_string(problem);
  }
  {
    std::lock_guard guard(problems_mutex_);
    problems_ = std::move(found);
  }
  if (!message.empty()) return make_error(message);
  return {};
}

Result<void> DirectoryKeyStore::reload() {
  std::lock_guard guard(write_mutex_);
  return reload_all(/*clean=*/false);
}

Result<void> DirectoryKeyStore::reload_domains(const std::vector<std::string>& domains) {
  std::vector<std::string> names;
  for (const std::string& domain : domains) {
    if (validate_domain(domain)) names.push_back(domain);
  }
  std::lock_guard guard(write_mutex_);
  StoreLock lock(options_.path, StoreLock::Mode::Shared);
  return refresh(names);
}

Result<SelectorInfo> DirectoryKeyStore::add_domain(std::string_view domain, const KeyParams& params) {
  auto name = normalize_domain(domain);
  if (!name) return name.error();
  auto generated = generate_key(params, *options_.vault, *name);  // slow for RSA: before taking any lock
  if (!generated) return generated.error();
  VaultGuard made(*options_.vault, generated->stored);

  std::lock_guard guard(write_mutex_);
  StoreLock lock(options_.path, StoreLock::Mode::Exclusive);
  auto before = metadata_on_disk(*name);
  if (!before) return before.error();
  if (before->has_value()) {
    return make_error(ErrorCode::conflict, "domain " + *name + " already exists; stage a new key for it instead");
  }
  Transaction transaction;
  transaction.domain = *name;
  transaction.after.domain = *name;
  transaction.after.delegated = params.delegated;
  const std::filesystem::path dir = options_.path / *name;
  auto wanted = requested_selector(params);
  if (!wanted) return wanted.error();
  auto chosen = choose_selector(*wanted, *name, transaction.after, options_.selector_pattern, now());
  if (!chosen) return chosen.error();
  const std::string& selector = *chosen;
  const SelectorInfo info = new_selector_info(selector, *generated, params, KeyState::Active, now());
  transaction.after.selectors.push_back(info);
  transaction.new_keys.emplace_back(selector, generated->stored);
  if (auto committed = commit(transaction); !committed) return committed.error();
  made.keep();
  return info;
}

Result<SelectorInfo> DirectoryKeyStore::stage_key(std::string_view domain, const KeyParams& params) {
  auto name = normalize_domain(domain);
  if (!name) return name.error();
  auto wanted = requested_selector(params);
  if (!wanted) return wanted.error();
  auto generated = generate_key(params, *options_.vault, *name);
  if (!generated) return generated.error();
  VaultGuard made(*options_.vault, generated->stored);

  std::lock_guard guard(write_mutex_);
  StoreLock lock(options_.path, StoreLock::Mode::Exclusive);
  auto before = metadata_on_disk(*name);
  if (!before) return before.error();
  Transaction transaction;
  transaction.domain = *name;
  transaction.after = before->value_or(DomainMetadata{*name, {}});
  if (auto guarded = check_stage_guards(transaction.after, params); !guarded) return guarded.error();
  if (params.delegated) transaction.after.delegated = true;
  const std::filesystem::path dir = options_.path / *name;
  // A key file without metadata (left by a crash) keeps its name out of the pattern's choice.
  auto chosen = choose_selector(*wanted, *name, transaction.after, options_.selector_pattern, now(),
                                [&](const std::string& candidate) {
                                  std::error_code ec;
                                  return std::filesystem::exists(key_file_path(dir, candidate), ec);
                                });
  if (!chosen) return chosen.error();
  const std::string& selector = *chosen;
  const SelectorInfo info = new_selector_info(selector, *generated, params, KeyState::Staged, now());
  transaction.after.selectors.push_back(info);
  transaction.new_keys.emplace_back(selector, generated->stored);
  if (auto committed = commit(transaction); !committed) return committed.error();
  made.keep();
  return info;
}

Result<void> DirectoryKeyStore::transition(std::string_view domain, std::string_view selector,
                                           const SelectorTransition& apply) {
  auto name = normalize_domain(domain);
  if (!name) return name.error();
  auto wanted = normalize_selector(selector);
  if (!wanted) return wanted.error();
  auto changed = update_domain(*name, [&](Transaction& transaction) {
    return apply(transaction.after, *wanted, now(), transaction.removed_keys);
  });
  if (!changed) return changed.error();
  return {};
}

Result<ChangeOutcome> DirectoryKeyStore::change_states(std::string_view domain,
                                                       const std::vector<StateChange>& changes) {
  auto name = normalize_domain(domain);
  if (!name) return name.error();
  bool stale = false;
  auto changed = update_domain(*name, [&](Transaction& transaction) -> Result<bool> {
    auto applied = apply_state_changes(transaction.after, changes, now(), transaction.removed_keys);
    if (!applied) return applied.error();
    stale = !*applied && !changes.empty();
    return applied;
  });
  if (!changed && changed.error().code != ErrorCode::not_found) return changed.error();
  if (!changed || stale) {
    // Another process (or replica) got there first: serve what is on disk now, so that the caller's
    // next reading is current.
    (void)reload_domains({*name});
    return ChangeOutcome::Stale;
  }
  return ChangeOutcome::Applied;
}

Result<bool> DirectoryKeyStore::update_domain(const std::string& name,
                                              const std::function<Result<bool>(Transaction&)>& change) {
  std::lock_guard guard(write_mutex_);
  StoreLock lock(options_.path, StoreLock::Mode::Exclusive);
  auto before = metadata_on_disk(name);
  if (!before) return before.error();
  if (!before->has_value()) return make_error(ErrorCode::not_found, "no domain " + name + " in the key store");
  Transaction transaction;
  transaction.domain = name;
  transaction.after = std::move(**before);
  auto changed = change(transaction);
  if (!changed) return changed.error();
  if (!*changed) return false;  // already so: nothing written
  if (auto done = commit(transaction); !done) return done.error();
  return true;
}

Result<void> DirectoryKeyStore::set_rotation_override(std::string_view domain, const RotationOverride& rotation) {
  auto name = normalize_domain(domain);
  if (!name) return name.error();
  auto changed = update_domain(*name, [&](Transaction& transaction) -> Result<bool> {
    if (transaction.after.rotation == rotation) return false;
    transaction.after.rotation = rotation;
    return true;
  });
  if (!changed) return changed.error();
  return {};
}

Result<bool> DirectoryKeyStore::record_dns_check(std::string_view domain, std::string_view selector,
                                                 const DnsCheck& check) {
  bool changed = false;
  auto done =
      transition(domain, selector, [&](DomainMetadata& m, const std::string& s, std::int64_t, auto&) -> Result<bool> {
        changed = apply_dns_check(m, s, check);
        return changed;
      });
  if (!done) return done.error().code == ErrorCode::not_found ? Result<bool>(false) : Result<bool>(done.error());
  return changed;
}

Result<bool> DirectoryKeyStore::record_publish_error(std::string_view domain, const PublishError& error) {
  auto name = normalize_domain(domain);
  if (!name) return name.error();
  auto changed = update_domain(
      *name, [&](Transaction& transaction) -> Result<bool> { return apply_publish_error(transaction.after, error); });
  // A domain removed meanwhile has no error to keep.
  if (!changed && changed.error().code == ErrorCode::not_found) return false;
  return changed;
}

Result<void> DirectoryKeyStore::remove_domain(std::string_view domain, bool force) {
  auto name = normalize_domain(domain);
  if (!name) return name.error();
  std::lock_guard guard(write_mutex_);
  StoreLock lock(options_.path, StoreLock::Mode::Exclusive);
  auto before = metadata_on_disk(*name);
  if (!before) {
    if (!force) return before.error();  // a broken domain can still be removed with force
  } else if (!before->has_value()) {
    return make_error(ErrorCode::not_found, "no domain " + *name + " in the key store");
  } else if (!force) {
    std::string active;
    for (const SelectorInfo& info : (*before)->selectors) {
      if (info.state == KeyState::Active) active += (active.empty() ? "" : ", ") + info.selector;
    }
    if (!active.empty()) {
      return make_error(ErrorCode::conflict, "domain " + *name + " still signs with active selector(s) " + active +
                                                 "; retire them first or force the removal");
    }
  }
  Transaction transaction;
  transaction.domain = *name;
  transaction.remove_domain = true;
  return commit(transaction);
}

Result<SelectorInfo> DirectoryKeyStore::import_key(std::string_view domain, const SelectorInfo& wanted,
                                                   std::string_view pem, bool delegated) {
  auto name = normalize_domain(domain);
  if (!name) return name.error();
  auto parsed = parse_import(wanted, pem, signer::KeyPolicy{options_.allow_weak_rsa}, *options_.vault, *name);
  if (!parsed) return parsed.error();
  VaultGuard made(*options_.vault, parsed->stored);

  std::lock_guard guard(write_mutex_);
  StoreLock lock(options_.path, StoreLock::Mode::Exclusive);
  auto before = metadata_on_disk(*name);
  if (!before) return before.error();
  Transaction transaction;
  transaction.domain = *name;
  transaction.after = before->value_or(DomainMetadata{*name, {}});
  auto info = add_imported(transaction.after, parsed->info, now());
  if (!info) return info.error();
  if (delegated) transaction.after.delegated = true;
  transaction.new_keys.emplace_back(info->selector, parsed->stored);
  if (auto committed = commit(transaction); !committed) return committed.error();
  made.keep();
  return info;
}

Result<SelectorInfo> DirectoryKeyStore::import_pem(std::string_view domain, std::string_view selector,
                                                   const std::filesystem::path& pem_path) {
  return import_pem_file(*this, domain, selector, pem_path);
}

Result<ImportReport> DirectoryKeyStore::import_opendkim(const std::filesystem::path& key_table,
                                                        const std::filesystem::path& signing_table) {
  return import_opendkim_tables(key_table, signing_table, *this,
                                [this](std::string_view domain, const SelectorInfo& info, std::string_view pem) {
                                  return import_key(domain, info, pem);
                                });
}

Result<std::vector<KeyMaterial>> DirectoryKeyStore::export_keys() const {
  std::vector<KeyMaterial> keys;
  StoreLock lock(options_.path, StoreLock::Mode::Shared);
  for (const DomainInfo& domain : list()) {
    for (const SelectorInfo& info : domain.selectors) {
      auto pem = read_file(key_file_path(options_.path / domain.domain, info.selector));
      if (!pem) return make_error(pem.error().code, domain.domain + " " + info.selector + ": " + pem.error().message);
      if (is_token_reference(*pem))
        return make_error(ErrorCode::invalid, unexportable_message(domain.domain, info.selector));
      keys.emplace_back(domain.domain, info, std::move(*pem));
      keys.back().delegated = domain.delegated;
    }
  }
  return keys;
}

}  // namespace dkr::keystore
