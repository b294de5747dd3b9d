#include "keystore/postgres_key_store.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <tuple>
#include <unordered_map>

#include "domain_metadata.hpp"
#include "domain_snapshot.hpp"
#include "incoming_key.hpp"
#include "keystore/dns_record.hpp"
#include "keystore/domain_name.hpp"
#include "pg_connection.hpp"
#include "postgres_schema.hpp"
#include "selector_pattern.hpp"
#include "common/ascii.hpp"

namespace dkr::keystore {
namespace {

using Clock = std::chrono::steady_clock;

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
}

// One private key of a domain, decrypted at load and parsed on first use (OpenSSL 3 spends ~0.3 ms
// per key on parsing, which a cold load of 100,000 domains cannot afford).
class SealedSlot {
 public:
  SealedSlot(std::int64_t id, SelectorInfo info, std::string pem, std::string error, signer::KeyPolicy policy,
             std::shared_ptr<const PrivateKeyVault> vault)
      : id_(id),
        info_(std::move(info)),
        pem_(std::move(pem)),
        open_error_(error),
        error_(std::move(error)),
        policy_(policy),
        vault_(std::move(vault)) {}
  ~SealedSlot() { OPENSSL_cleanse(pem_.data(), pem_.size()); }
  SealedSlot(const SealedSlot&) = delete;
  SealedSlot& operator=(const SealedSlot&) = delete;

  std::int64_t id() const { return id_; }
  const std::string& selector() const { return info_.selector; }
  // The row's public data this slot was opened with: a reload may reuse the slot only for the same.
  bool same_public_data(const SelectorInfo& info) const {
    return info.algorithm == info_.algorithm && info.bits == info_.bits && info.dns_record == info_.dns_record;
  }
  // The parsed key, or null with error() set.
  const std::shared_ptr<const signer::SigningKey>& key() const {
    std::call_once(once_, [this] {
      if (!error_.empty()) return;
      auto parsed = vault_->open(pem_, policy_);
      if (!parsed) {
        error_ = parsed.error().message;
      } else if (parsed->algorithm() != info_.algorithm) {
        error_ = "the key's algorithm does not match the row's";
      } else if (parsed->dns_record() != info_.dns_record) {
        error_ = "the key does not match the row's DNS record";
      } else {
        key_ = std::make_shared<const signer::SigningKey>(std::move(*parsed));
      }
    });
    return key_;
  }
  const std::string& error() const { return error_; }
  // Why the sealed key did not open (or its row's public data did not authenticate); empty if it did.
  const std::string& open_error() const { return open_error_; }

 private:
  std::int64_t id_;
  SelectorInfo info_;
  std::string pem_;
  std::string open_error_;
  mutable std::string error_;
  signer::KeyPolicy policy_;
  std::shared_ptr<const PrivateKeyVault> vault_;
  mutable std::once_flag once_;
  mutable std::shared_ptr<const signer::SigningKey> key_;
};

// The columns every domain query returns, in this order.
constexpr std::string_view kDomainColumns =
    "d.name, d.version, k.id, k.selector, k.algorithm, k.bits, k.state, k.created_at, k.activated_at, "
    "k.retired_at, k.revoked_at, k.activate_after_dns, k.dns_record, d.delegated, k.slot, d.rotation, k.dns_check, "
    "d.publish_error";
constexpr int kDelegatedColumn = 13;     // d.delegated
constexpr int kSlotColumn = 14;          // k.slot
constexpr int kRotationColumn = 15;      // d.rotation
constexpr int kDnsCheckColumn = 16;      // k.dns_check
constexpr int kPublishErrorColumn = 17;  // d.publish_error
constexpr int kSealedKeyColumn = 18;     // k.sealed_key, where a query appends it

SelectorInfo selector_from_row(const PgResult& rows, int row) {
  SelectorInfo info;
  info.selector = std::string(rows.text(row, 3));
  info.algorithm = signer::parse_algorithm(rows.text(row, 4)).value_or(signer::Algorithm::RsaSha256);
  info.bits = static_cast<int>(rows.integer(row, 5));
  info.state = parse_key_state(rows.text(row, 6)).value_or(KeyState::Revoked);
  info.created_at = rows.integer(row, 7);
  info.activated_at = rows.integer(row, 8);
  info.retired_at = rows.integer(row, 9);
  info.revoked_at = rows.integer(row, 10);
  info.activate_after_dns = rows.text(row, 11) == "t";
  // A revoked selector publishes an empty key, as in the directory store; the column keeps the
  // key's record, which SealedSlot checks keys against.
  info.dns_record = info.state == KeyState::Revoked ? std::string(kRevokedKeyRecord) : std::string(rows.text(row, 12));
  info.slot = std::string(rows.text(row, kSlotColumn));
  if (!rows.null(row, kDnsCheckColumn)) info.dns_check = dns_check_from_json(rows.text(row, kDnsCheckColumn));
  return info;
}

PublishError publish_error_from_row(const PgResult& rows, int row) {
  if (rows.null(row, kPublishErrorColumn)) return {};
  return publish_error_from_json(rows.text(row, kPublishErrorColumn));
}

// The domain's rotation override; a broken value reads as none (logged): the global policy applies.
RotationOverride rotation_from_row(const PgResult& rows, int row, std::string_view domain) {
  if (rows.null(row, kRotationColumn)) return {};
  auto rotation = rotation_from_json(rows.text(row, kRotationColumn));
  if (!rotation) {
    spdlog::error("keystore: domain {}: {}; the global rotation policy applies", domain, rotation.error().message);
    return {};
  }
  return *rotation;
}

// The row's public data (record, algorithm, bits) as version 2 sealing binds it.
std::string binding_of(const SelectorInfo& info, std::string_view record) {
  return sealed_key_binding(signer::to_string(info.algorithm), info.bits, record);
}

// Opens a row's sealed key and proves that the row's DNS record, algorithm and bits are the key's:
// version 2 rows by the associated data, rows sealed before it (version 1) by deriving the record
// from the key. `record` is the dns_record column (a revoked row's SelectorInfo shows p= instead).
Result<std::string> open_row_key(const Kek& kek, std::string_view sealed, std::string_view domain,
                                 const SelectorInfo& info, std::string_view record, signer::KeyPolicy policy) {
  auto pem = kek.open(sealed, domain, info.selector, binding_of(info, record));
  if (pem) return pem;
  auto legacy = kek.open_v1(sealed, domain, info.selector);
  if (!legacy) return pem.error();
  auto parsed = signer::SigningKey::from_pem(*legacy, policy);
  std::string problem;
  if (!parsed) {
    problem = parsed.error().message;
  } else if (parsed->algorithm() != info.algorithm) {
    problem = "the row's algorithm is not the sealed key's";
  } else if (parsed->dns_record() != record) {
    problem = "the row's dns_record is not the sealed key's public key (the row was altered outside dkim-relay)";
  }
  if (!problem.empty()) {
    OPENSSL_cleanse(legacy->data(), legacy->size());
    return make_error(ErrorCode::invalid, problem);
  }
  return legacy;
}

std::string names_array(const std::vector<std::string>& names) {
  // Domain names are LDH labels: nothing in them needs quoting inside an array literal.
  std::string out = "{";
  for (std::size_t i = 0; i < names.size(); ++i) out += (i ? "," : "") + names[i];
  return out + "}";
}

Error unreachable_for_writes(const Error& error) {
  if (error.code != ErrorCode::unavailable) return error;
  return make_error(ErrorCode::unavailable,
                    error.message + " (keys are not changed; relays keep signing with the keys they hold)");
}

}  // namespace

struct PgDomain {
  DomainInfo info;
  std::int64_t version = 0;
  std::vector<std::shared_ptr<const SealedSlot>> keys;  // every selector that is not revoked
  bool has_active = false;

  const std::shared_ptr<const SigningSet>& signing_set() const {
    std::call_once(signing_once_, [this] {
      if (!has_active) return;
      signing_ = make_signing_set(info, keys, [this](const SealedSlot& slot) {
        spdlog::error("keystore: cannot use key {} of {}: {}", slot.selector(), info.domain, slot.error());
      });
    });
    return signing_;
  }

 private:
  mutable std::once_flag signing_once_;
  mutable std::shared_ptr<const SigningSet> signing_;
};

// Loads domains from the database into entries, reusing keys the previous snapshot already holds.
class DomainReader {
 public:
  using Snapshot = PostgresKeyStore::Snapshot;

  DomainReader(PgConnection& conn, const std::string& schema, const Kek& kek, signer::KeyPolicy policy,
               std::shared_ptr<const PrivateKeyVault> vault)
      : conn_(conn), schema_(quote_identifier(schema)), kek_(kek), policy_(policy), vault_(std::move(vault)) {}

  struct Loaded {
    Snapshot::Changes changes;  // null: gone
    std::vector<LoadProblem> problems;
    std::size_t decrypted = 0;
  };

  Result<void> load(const std::vector<std::string>& names, const Snapshot& previous, bool parse_now, Loaded& out) {
    for (std::size_t begin = 0; begin < names.size(); begin += kBatch) {
      const std::vector<std::string> batch(
          names.begin() + static_cast<std::ptrdiff_t>(begin),
          names.begin() + static_cast<std::ptrdiff_t>(std::min(names.size(), begin + kBatch)));
      auto rows = conn_.exec("SELECT " + std::string(kDomainColumns) + ", k.sealed_key FROM " + schema_ +
                                 ".domains d LEFT JOIN " + schema_ +
                                 ".keys k ON k.domain = d.name WHERE d.name = ANY($1::text[]) ORDER BY d.name, k.id",
                             {PgParam::text(names_array(batch))});
      if (!rows) return rows.error();
      std::set<std::string, std::less<>> found;
      int row = 0;
      while (row < rows->rows()) {
        const std::string name(rows->text(row, 0));
        int end = row;
        while (end < rows->rows() && rows->text(end, 0) == name) ++end;
        found.insert(name);
        const auto* before = previous.find(name);
        out.changes.emplace_back(name, build(*rows, row, end, before ? *before : nullptr, parse_now, out));
        row = end;
      }
      for (const std::string& name : batch) {
        if (!found.contains(name)) out.changes.emplace_back(name, nullptr);
      }
    }
    return {};
  }

 private:
  static constexpr std::size_t kBatch = 2000;

  static bool slot_reused(const std::shared_ptr<const SealedSlot>& slot,
                          const std::shared_ptr<const PgDomain>& before) {
    if (!before) return false;
    return std::find(before->keys.begin(), before->keys.end(), slot) != before->keys.end();
  }

  std::shared_ptr<const PgDomain> build(const PgResult& rows, int begin, int end,
                                        const std::shared_ptr<const PgDomain>& before, bool parse_now, Loaded& out) {
    auto entry = std::make_shared<PgDomain>();
    entry->info.domain = std::string(rows.text(begin, 0));
    entry->version = rows.integer(begin, 1);
    entry->info.delegated = rows.text(begin, kDelegatedColumn) == "t";
    entry->info.rotation = rotation_from_row(rows, begin, entry->info.domain);
    entry->info.publish_error = publish_error_from_row(rows, begin);
    for (int row = begin; row < end; ++row) {
      if (rows.null(row, 2)) continue;  // a domain without keys
      SelectorInfo info = selector_from_row(rows, row);
      if (info.state == KeyState::Active) entry->has_active = true;
      if (info.state == KeyState::Revoked) {
        entry->info.selectors.push_back(std::move(info));
        continue;
      }
      const std::int64_t id = rows.integer(row, 2);
      std::shared_ptr<const SealedSlot> slot;
      if (before) {
        for (const auto& old : before->keys) {
          if (old->id() == id && old->same_public_data(info)) slot = old;
        }
      }
      if (!slot) {
        std::string sealed = rows.bytes(row, kSealedKeyColumn);
        auto pem = open_row_key(kek_, sealed, entry->info.domain, info, info.dns_record, policy_);
        std::string error;
        if (!pem) {
          error = pem.error().message;
          out.problems.push_back(LoadProblem{entry->info.domain, "selector " + info.selector, error});
        } else {
          ++out.decrypted;
        }
        slot =
            std::make_shared<const SealedSlot>(id, info, pem ? std::move(*pem) : std::string(), error, policy_, vault_);
        if (parse_now && error.empty() && !slot->key()) {
          out.problems.push_back(LoadProblem{entry->info.domain, "selector " + info.selector, slot->error()});
        }
      }
      if (!slot->open_error().empty()) {
        if (slot_reused(slot, before)) {
          out.problems.push_back(LoadProblem{entry->info.domain, "selector " + info.selector, slot->open_error()});
        }
        // Never show a record the KEK does not vouch for: an operator would publish it.
        info.refused = "refused: " + slot->open_error();
        info.dns_record.clear();
      }
      entry->info.selectors.push_back(std::move(info));
      entry->keys.push_back(std::move(slot));
    }
    if (parse_now) (void)entry->signing_set();
    return entry;
  }

  PgConnection& conn_;
  std::string schema_;
  const Kek& kek_;
  signer::KeyPolicy policy_;
  std::shared_ptr<const PrivateKeyVault> vault_;
};

struct PostgresKeyStore::Sync {
  int wake_fd = -1;
  std::atomic<bool> stop{false};
  std::atomic<bool> resync_requested{false};

  Sync() : wake_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  ~Sync() {
    if (wake_fd >= 0) ::close(wake_fd);
  }
  void wake() const {
    const std::uint64_t one = 1;
    (void)!::write(wake_fd, &one, sizeof one);
  }
  void drain() const {
    std::uint64_t value = 0;
    (void)!::read(wake_fd, &value, sizeof value);
  }
  // Waits for the socket (when >= 0) or a wake-up, at most `timeout`. Returns {socket, woken}.
  std::pair<bool, bool> wait(int socket, std::chrono::milliseconds timeout) const {
    pollfd fds[2] = {{wake_fd, POLLIN, 0}, {socket, POLLIN, 0}};
    const int count = ::poll(fds, socket >= 0 ? 2 : 1, static_cast<int>(std::max<std::int64_t>(0, timeout.count())));
    if (count <= 0) return {false, false};
    return {socket >= 0 && (fds[1].revents & (POLLIN | POLLERR | POLLHUP)) != 0, (fds[0].revents & POLLIN) != 0};
  }
};

// What a write plans: the domain as read inside the transaction and the change to make.
struct PostgresKeyStore::WriteContext {
  std::string domain;
  bool exists = false;
  std::int64_t version = 0;
  DomainMetadata before;
  DomainMetadata after;
  bool remove_domain = false;
  std::vector<std::pair<std::string, std::string>> new_keys;  // selector, private PEM (secret)
  std::vector<std::string> removed;
  std::int64_t now = 0;
  bool reread_when_unchanged = false;  // a compare-and-set miss: refresh the snapshot's copy

  ~WriteContext() {
    for (auto& [selector, pem] : new_keys) OPENSSL_cleanse(pem.data(), pem.size());
  }
};

namespace {

// Reads one domain's metadata (no key material) inside the caller's transaction.
Result<bool> read_domain(PgConnection& conn, const std::string& schema, const std::string& name, std::int64_t& version,
                         DomainMetadata& metadata) {
  const std::string s = quote_identifier(schema);
  auto rows = conn.exec("SELECT " + std::string(kDomainColumns) + " FROM " + s + ".domains d LEFT JOIN " + s +
                            ".keys k ON k.domain = d.name WHERE d.name = $1 ORDER BY k.id",
                        {PgParam::text(name)});
  if (!rows) return rows.error();
  metadata = DomainMetadata{name, {}};
  if (rows->rows() == 0) return false;
  version = rows->integer(0, 1);
  metadata.delegated = rows->text(0, kDelegatedColumn) == "t";
  metadata.rotation = rotation_from_row(*rows, 0, name);
  metadata.publish_error = publish_error_from_row(*rows, 0);
  for (int row = 0; row < rows->rows(); ++row) {
    if (!rows->null(row, 2)) metadata.selectors.push_back(selector_from_row(*rows, row));
  }
  return true;
}

}  // namespace

PostgresKeyStore::PostgresKeyStore(PostgresKeyStoreOptions options, Kek kek)
    : options_(std::move(options)),
      kek_(std::move(kek)),
      channel_(options_.schema + "_changes"),
      snapshot_(Snapshot::empty()),
      sync_(std::make_unique<Sync>()) {
  if (!options_.vault) options_.vault = store_vault();
}

PostgresKeyStore::~PostgresKeyStore() {
  sync_->stop = true;
  sync_->wake();
  if (thread_.joinable()) thread_.join();
}

std::int64_t PostgresKeyStore::now() const {
  return options_.clock ? options_.clock() : static_cast<std::int64_t>(std::time(nullptr));
}

std::shared_ptr<const PostgresKeyStore::Snapshot> PostgresKeyStore::current() const {
  return std::atomic_load_explicit(&snapshot_, std::memory_order_acquire);
}

namespace {

// Applies loaded domains to the snapshot: a domain is replaced only by a newer version, so a slow
// reader never undoes what a faster one already published.
template <class Snapshot, class Entries>
std::shared_ptr<const Snapshot> merge(const Snapshot& base, Entries& changes, bool removals) {
  typename Snapshot::Changes applied;
  for (auto& [name, entry] : changes) {
    const auto* before = base.find(name);
    if (entry) {
      if (before != nullptr && (*before)->version >= entry->version) continue;
    } else if (before == nullptr || !removals) {
      continue;
    }
    applied.emplace_back(name, entry);
  }
  if (applied.empty()) return nullptr;
  return base.with(applied);
}

}  // namespace

Result<std::unique_ptr<PostgresKeyStore>> PostgresKeyStore::open(const PostgresKeyStoreOptions& options, Kek kek) {
  if (options.dsn.empty()) return make_error(ErrorCode::invalid, "keystore dsn is empty");
  std::unique_ptr<PostgresKeyStore> store(new PostgresKeyStore(options, std::move(kek)));
  auto connected = PgConnection::connect(options.dsn);
  if (!connected) return connected.error();
  if (auto checked = check_schema_version(**connected, options.schema); !checked) return checked.error();
  store->write_conn_ = std::move(*connected);

  const auto started = Clock::now();
  auto names = store->write_conn_->exec("SELECT name FROM " + quote_identifier(options.schema) + ".domains");
  if (!names) return names.error();
  std::vector<std::string> all;
  all.reserve(static_cast<std::size_t>(names->rows()));
  for (int row = 0; row < names->rows(); ++row) all.emplace_back(names->text(row, 0));
  DomainReader reader(*store->write_conn_, options.schema, store->kek_, signer::KeyPolicy{options.allow_weak_rsa},
                      store->options_.vault);
  DomainReader::Loaded loaded;
  if (auto done = reader.load(all, *Snapshot::empty(), /*parse_now=*/false, loaded); !done) return done.error();
  if (!loaded.problems.empty()) {
    std::sort(loaded.problems.begin(), loaded.problems.end(), [](const LoadProblem& a, const LoadProblem& b) {
      return std::tie(a.domain, a.file) < std::tie(b.domain, b.file);
    });
    const LoadProblem& first = loaded.problems.front();
    if (loaded.decrypted == 0) {
      return make_error(ErrorCode::invalid,
                        "cannot decrypt the private key of " + first.domain + " " + first.file +
                            " with kek_file (is it the KEK the keys were sealed with?): " + first.reason);
    }
    for (const LoadProblem& problem : loaded.problems) spdlog::error("keystore: refused {}", to_string(problem));
  }
  store->problems_ = loaded.problems;
  if (auto next = merge(*store->current(), loaded.changes, true)) store->snapshot_ = next;
  // The relay logs its cold load; one-shot commands (keys, db) keep their output clean.
  spdlog::log(options.watch ? spdlog::level::info : spdlog::level::debug,
              "keystore: loaded {} domains from PostgreSQL schema {} in {} ms", store->current()->domains(),
              options.schema, std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count());
  if (options.watch) {
    store->stale_since_ms_ = steady_ms();  // until the keystore thread listens
    store->thread_ = std::thread([raw = store.get()] { raw->run_sync(); });
  }
  return store;
}

void PostgresKeyStore::run_sync() {
  Sync& sync = *sync_;
  std::mt19937_64 random(std::random_device{}());
  std::chrono::milliseconds backoff{100};
  constexpr std::chrono::milliseconds kMaxBackoff{10000};
  bool reported = false;
  const std::string s = quote_identifier(options_.schema);
  const signer::KeyPolicy policy{options_.allow_weak_rsa};

  auto publish = [&](DomainReader::Loaded& loaded, bool removals, const std::vector<std::string>& names) {
    std::lock_guard guard(publish_mutex_);
    if (auto next = merge(*current(), loaded.changes, removals)) {
      std::atomic_store_explicit(&snapshot_, next, std::memory_order_release);
    }
    std::lock_guard problems_guard(problems_mutex_);
    std::erase_if(problems_,
                  [&](const LoadProblem& p) { return std::find(names.begin(), names.end(), p.domain) != names.end(); });
    for (const LoadProblem& problem : loaded.problems) {
      spdlog::error("keystore: refused {}", to_string(problem));
      problems_.push_back(problem);
    }
  };
  auto reload = [&](PgConnection& conn, const std::vector<std::string>& names) -> Result<void> {
    DomainReader reader(conn, options_.schema, kek_, policy, options_.vault);
    DomainReader::Loaded loaded;
    if (auto done = reader.load(names, *current(), /*parse_now=*/true, loaded); !done) return done.error();
    publish(loaded, true, names);
    return {};
  };
  // Compares every domain's version with the snapshot and reloads what differs.
  auto resync = [&](PgConnection& conn) -> Result<void> {
    auto versions = conn.exec("SELECT name, version FROM " + s + ".domains");
    if (!versions) return versions.error();
    const auto snapshot = current();
    std::set<std::string, std::less<>> in_database;
    std::vector<std::string> changed;
    for (int row = 0; row < versions->rows(); ++row) {
      const std::string_view name = versions->text(row, 0);
      in_database.emplace(name);
      const auto* entry = snapshot->find(name);
      if (entry == nullptr || (*entry)->version != versions->integer(row, 1)) changed.emplace_back(name);
    }
    snapshot->for_each([&](const std::string& name, const PgDomain&) {
      if (!in_database.contains(name)) changed.push_back(name);  // removed: load() reports it gone
    });
    if (!changed.empty()) spdlog::info("keystore: resync reloads {} domain(s)", changed.size());
    return reload(conn, changed);
  };
  auto try_fleet_lock = [&](PgConnection& conn) {
    if (fleet_lock_) return;
    auto locked = conn.exec("SELECT pg_try_advisory_lock(hashtext($1))",
                            {PgParam::text("dkim-relay periodic jobs " + options_.schema)});
    if (locked && locked->text(0, 0) == "t") {
      fleet_lock_ = true;
      spdlog::info("keystore: this replica runs the fleet's periodic jobs");
    }
  };

  while (!sync.stop) {
    auto connected = PgConnection::connect(options_.dsn);
    Result<void> ready = connected ? Result<void>() : Result<void>(connected.error());
    if (ready) {
      PgConnection& conn = **connected;
      // LISTEN before the resync: a change committed in between is then seen by one or the other.
      if (auto listened = conn.exec("LISTEN " + quote_identifier(channel_)); !listened) ready = listened.error();
      if (ready) ready = check_schema_version(conn, options_.schema);
      if (ready) ready = resync(conn);
      if (ready) {
        try_fleet_lock(conn);
        connected_ = true;
        stale_since_ms_ = 0;
        backoff = std::chrono::milliseconds{100};
        if (reported) spdlog::info("keystore: reconnected to PostgreSQL and resynced");
        reported = false;
        auto next_poll = Clock::now() + options_.poll_interval;
        while (!sync.stop && ready) {
          const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next_poll - Clock::now());
          // Notifications that arrived while our own queries ran are already in libpq's buffer and
          // will not make the socket readable again: take them before waiting.
          std::vector<std::string> names;
          bool everything = false;
          auto take_notifications = [&] {
            while (PGnotify* note = PQnotifies(conn.raw())) {
              const std::string payload = note->extra != nullptr ? note->extra : "";
              PQfreemem(note);
              if (payload.empty()) {
                everything = true;
              } else if (std::find(names.begin(), names.end(), payload) == names.end()) {
                names.push_back(payload);
              }
            }
          };
          take_notifications();
          if (names.empty() && !everything) {
            const auto [readable, woken] = sync.wait(PQsocket(conn.raw()), left);
            if (sync.stop) break;
            if (woken) sync.drain();
            if (readable) {
              if (PQconsumeInput(conn.raw()) == 0 || PQstatus(conn.raw()) != CONNECTION_OK) {
                ready =
                    make_error(ErrorCode::unavailable, std::string("connection lost: ") + PQerrorMessage(conn.raw()));
                break;
              }
              take_notifications();
            }
          }
          if (everything) {
            ready = resync(conn);
          } else if (!names.empty()) {
            ready = reload(conn, names);
          }
          if (ready && (sync.resync_requested.exchange(false) || Clock::now() >= next_poll)) {
            ready = resync(conn);  // also proves the connection is alive
            if (ready) try_fleet_lock(conn);
            next_poll = Clock::now() + options_.poll_interval;
          }
        }
      }
    }
    if (sync.stop) break;
    connected_ = false;
    fleet_lock_ = false;  // the advisory lock went with the session
    if (stale_since_ms_ == 0) stale_since_ms_ = steady_ms();
    connected = make_error("closed");  // drop the connection before waiting
    std::uniform_int_distribution<std::int64_t> jitter(backoff.count() / 2, backoff.count());
    const std::chrono::milliseconds wait{jitter(random)};
    if (!reported) {
      spdlog::warn("keystore: PostgreSQL: {}; signing continues with the cached keys; retrying with backoff",
                   ready ? std::string("disconnected") : ready.error().message);
      reported = true;
    }
    sync.wait(-1, wait);
    sync.drain();
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
  connected_ = false;
}

std::shared_ptr<const SigningSet> PostgresKeyStore::signer_for(std::string_view from_domain) const {
  return current()->signer_for(from_domain);
}

std::vector<DomainInfo> PostgresKeyStore::list() const { return current()->list(); }

Result<DomainInfo> PostgresKeyStore::domain(std::string_view domain) const { return current()->domain(domain); }

KeyStoreStats PostgresKeyStore::stats() const { return current()->stats(); }

std::vector<LoadProblem> PostgresKeyStore::problems() const {
  std::lock_guard guard(problems_mutex_);
  return problems_;
}

bool PostgresKeyStore::connected() const { return !thread_.joinable() || connected_.load(); }

double PostgresKeyStore::staleness_seconds() const {
  const std::int64_t since = stale_since_ms_.load();
  if (since == 0) return 0.0;
  return static_cast<double>(steady_ms() - since) / 1000.0;
}

bool PostgresKeyStore::runs_periodic_jobs() const { return fleet_lock_.load(); }

std::string PostgresKeyStore::render_metrics() const {
  char staleness[32];
  std::snprintf(staleness, sizeof staleness, "%.3f", staleness_seconds());
  return std::string(
             "# HELP dkim_relay_keystore_connected Whether the keystore thread is connected to PostgreSQL.\n"
             "# TYPE dkim_relay_keystore_connected gauge\n"
             "dkim_relay_keystore_connected ") +
         (connected() ? "1" : "0") +
         "\n# HELP dkim_relay_keystore_staleness_seconds Seconds since the cached keys were last known to match the "
         "database.\n"
         "# TYPE dkim_relay_keystore_staleness_seconds gauge\n"
         "dkim_relay_keystore_staleness_seconds " +
         staleness + "\n";
}

Result<void> PostgresKeyStore::reload() {
  if (thread_.joinable()) {
    sync_->resync_requested = true;
    sync_->wake();
    return {};
  }
  std::lock_guard guard(write_mutex_);
  if (!write_conn_ || !write_conn_->healthy()) {
    auto connected = PgConnection::connect(options_.dsn);
    if (!connected) return connected.error();
    write_conn_ = std::move(*connected);
  }
  auto names = write_conn_->exec("SELECT name FROM " + quote_identifier(options_.schema) + ".domains");
  if (!names) return names.error();
  std::vector<std::string> all;
  for (int row = 0; row < names->rows(); ++row) all.emplace_back(names->text(row, 0));
  current()->for_each([&](const std::string& name, const PgDomain&) { all.push_back(name); });
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  DomainReader reader(*write_conn_, options_.schema, kek_, signer::KeyPolicy{options_.allow_weak_rsa}, options_.vault);
  DomainReader::Loaded loaded;
  if (auto done = reader.load(all, *current(), false, loaded); !done) return done.error();
  std::lock_guard publish(publish_mutex_);
  if (auto next = merge(*current(), loaded.changes, true)) {
    std::atomic_store_explicit(&snapshot_, next, std::memory_order_release);
  }
  return {};
}

Result<void> PostgresKeyStore::write(const std::string& domain, const Plan& plan, bool* raced) {
  std::lock_guard guard(write_mutex_);
  const std::string s = quote_identifier(options_.schema);
  // A connection that broke since the last write is replaced once, before anything was sent.
  for (int attempt = 0;; ++attempt) {
    if (!write_conn_ || !write_conn_->healthy()) {
      write_conn_.reset();
      auto connected = PgConnection::connect(options_.dsn);
      if (!connected) return unreachable_for_writes(connected.error());
      write_conn_ = std::move(*connected);
    }
    auto begun = write_conn_->exec("BEGIN");
    if (begun) break;
    write_conn_.reset();
    if (attempt > 0 || begun.error().code != ErrorCode::unavailable) return unreachable_for_writes(begun.error());
  }
  PgConnection& conn = *write_conn_;
  auto fail = [&](Error error) -> Result<void> {
    if (error.code == ErrorCode::unavailable) {
      write_conn_.reset();
      return unreachable_for_writes(error);
    }
    (void)conn.exec("ROLLBACK");
    return error;
  };
  auto concurrent = [&] {
    if (raced != nullptr) *raced = true;
    return make_error(ErrorCode::conflict,
                      "domain " + domain + " was changed concurrently (by another replica?); read it again and retry");
  };

  WriteContext context;
  context.domain = domain;
  context.now = now();
  auto exists = read_domain(conn, options_.schema, domain, context.version, context.before);
  if (!exists) return fail(exists.error());
  context.exists = *exists;
  context.after = context.before;
  if (options_.before_write_hook) options_.before_write_hook(domain);
  auto changed = plan(context);
  if (!changed) return fail(changed.error());
  if (!*changed) {
    (void)conn.exec("ROLLBACK");  // already in the asked state
    if (context.reread_when_unchanged) reread(conn, domain);
    return {};
  }

  auto checked = [&](Result<PgResult> result) -> Result<void> {
    if (result) return {};
    const std::string state = conn.sqlstate();
    if (state == "23505" || state == "40001" || state == "40P01") return fail(concurrent());
    return fail(result.error());
  };
  if (context.exists) {
    auto bumped = conn.exec("UPDATE " + s + ".domains SET version = nextval('" + s +
                                ".domain_version'), changed_at = now() WHERE name = $1 AND version = $2",
                            {PgParam::text(domain), PgParam::text(std::to_string(context.version))});
    if (!bumped) return checked(std::move(bumped));
    if (bumped->affected() != "1") return fail(concurrent());
    if (!context.remove_domain && context.after.delegated != context.before.delegated) {
      if (auto r =
              checked(conn.exec("UPDATE " + s + ".domains SET delegated = $2 WHERE name = $1",
                                {PgParam::text(domain), PgParam::text(context.after.delegated ? "true" : "false")}));
          !r)
        return r;
    }
  } else {
    if (context.remove_domain)
      return fail(make_error(ErrorCode::not_found, "no domain " + domain + " in the key store"));
    auto inserted = conn.exec("INSERT INTO " + s + ".domains (name, delegated) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                              {PgParam::text(domain), PgParam::text(context.after.delegated ? "true" : "false")});
    if (!inserted) return checked(std::move(inserted));
    if (inserted->affected() != "1") return fail(concurrent());
  }

  // What the vault keeps for the keys this write deletes (token references in pkcs11 mode): their
  // token objects are destroyed once the deletion is committed, so a rolled-back write leaves them.
  std::vector<std::string> doomed;
  struct Cleanse {
    std::vector<std::string>& texts;
    ~Cleanse() {
      for (auto& text : texts) OPENSSL_cleanse(text.data(), text.size());
    }
  } cleanse{doomed};
  if (options_.vault->name() != "store" && (context.remove_domain || !context.removed.empty())) {
    // The dns_record column, not the metadata's: a revoked key's metadata shows the empty record,
    // and the sealed key is bound to the key's own.
    auto rows = conn.exec("SELECT selector, sealed_key, dns_record FROM " + s + ".keys WHERE domain = $1",
                          {PgParam::text(domain)});
    if (!rows) return checked(std::move(rows));
    for (int row = 0; row < rows->rows(); ++row) {
      const std::string selector(rows->text(row, 0));
      const bool removed = context.remove_domain ||
                           std::find(context.removed.begin(), context.removed.end(), selector) != context.removed.end();
      const SelectorInfo* info = context.before.find(selector);
      if (!removed || info == nullptr) continue;
      auto stored = open_row_key(kek_, rows->bytes(row, 1), domain, *info, rows->text(row, 2),
                                 signer::KeyPolicy{options_.allow_weak_rsa});
      if (!stored) {
        spdlog::warn("keystore: {} selector {}: cannot read its key reference to destroy the token object: {}", domain,
                     selector, stored.error().message);
        continue;
      }
      doomed.push_back(std::move(*stored));
    }
  }

  if (context.remove_domain) {
    if (auto r = checked(conn.exec("DELETE FROM " + s + ".domains WHERE name = $1", {PgParam::text(domain)})); !r)
      return r;
  } else {
    if (auto r = write_rotation_and_checks(context); !r) return fail(r.error());
    for (const std::string& selector : context.removed) {
      if (auto r = checked(conn.exec("DELETE FROM " + s + ".keys WHERE domain = $1 AND selector = $2",
                                     {PgParam::text(domain), PgParam::text(selector)}));
          !r)
        return r;
    }
    // Keys leaving the active state go first: the one-active-key index is checked per statement.
    std::vector<const SelectorInfo*> order;
    for (const SelectorInfo& info : context.after.selectors) {
      if (info.state != KeyState::Active) order.push_back(&info);
    }
    for (const SelectorInfo& info : context.after.selectors) {
      if (info.state == KeyState::Active) order.push_back(&info);
    }
    for (const SelectorInfo* info : order) {
      const auto fresh = std::find_if(context.new_keys.begin(), context.new_keys.end(),
                                      [&](const auto& key) { return key.first == info->selector; });
      const std::vector<PgParam> common = {PgParam::text(domain),
                                           PgParam::text(info->selector),
                                           PgParam::text(std::string(to_string(info->state))),
                                           PgParam::text(std::to_string(info->created_at)),
                                           PgParam::text(std::to_string(info->activated_at)),
                                           PgParam::text(std::to_string(info->retired_at)),
                                           PgParam::text(std::to_string(info->revoked_at)),
                                           PgParam::text(info->activate_after_dns ? "true" : "false")};
      if (fresh != context.new_keys.end()) {
        auto sealed = kek_.seal(fresh->second, domain, info->selector, binding_of(*info, info->dns_record));
        if (!sealed) return fail(sealed.error());
        std::vector<PgParam> params = common;
        params.push_back(PgParam::text(std::string(signer::to_string(info->algorithm))));
        params.push_back(PgParam::text(std::to_string(info->bits)));
        params.push_back(PgParam::text(info->dns_record));
        params.push_back(PgParam::bytes(std::move(*sealed)));
        params.push_back(PgParam::text(info->slot));
        if (auto r = checked(conn.exec("INSERT INTO " + s +
                                           ".keys (domain, selector, state, created_at, activated_at, retired_at, "
                                           "revoked_at, activate_after_dns, algorithm, bits, dns_record, sealed_key, "
                                           "slot) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                                       params));
            !r)
          return r;
        continue;
      }
      const SelectorInfo* old = context.before.find(info->selector);
      if (old != nullptr && old->state == info->state && old->activated_at == info->activated_at &&
          old->retired_at == info->retired_at && old->revoked_at == info->revoked_at &&
          old->activate_after_dns == info->activate_after_dns)
        continue;
      if (auto r = checked(conn.exec("UPDATE " + s +
                                         ".keys SET state = $3, created_at = $4, activated_at = $5, retired_at = $6, "
                                         "revoked_at = $7, activate_after_dns = $8 WHERE domain = $1 AND selector = $2",
                                     common));
          !r)
        return r;
    }
  }
  if (auto r = checked(conn.exec("SELECT pg_notify($1, $2)", {PgParam::text(channel_), PgParam::text(domain)})); !r)
    return r;
  if (auto committed = conn.exec("COMMIT"); !committed) {
    const std::string state = conn.sqlstate();
    if (state == "40001" || state == "23505") return fail(concurrent());
    write_conn_.reset();  // the outcome is unknown; the next resync shows it
    return unreachable_for_writes(committed.error());
  }
  for (const std::string& stored : doomed) destroy_stored_key(*options_.vault, stored, "a key removed from " + domain);

  // Read-your-writes in this process without waiting for the notification to come back.
  reread(conn, domain);
  return {};
}

void PostgresKeyStore::reread(PgConnection& conn, const std::string& domain) {
  DomainReader reader(conn, options_.schema, kek_, signer::KeyPolicy{options_.allow_weak_rsa}, options_.vault);
  DomainReader::Loaded loaded;
  if (auto done = reader.load({domain}, *current(), /*parse_now=*/true, loaded); done) {
    std::lock_guard publish(publish_mutex_);
    if (auto next = merge(*current(), loaded.changes, true)) {
      std::atomic_store_explicit(&snapshot_, next, std::memory_order_release);
    }
  }
}

Result<ChangeOutcome> PostgresKeyStore::change_states(std::string_view domain,
                                                      const std::vector<StateChange>& changes) {
  auto name = normalize_domain(domain);
  if (!name) return name.error();
  bool stale = false;
  bool raced = false;
  auto done = write(
      *name,
      [&](WriteContext& context) -> Result<bool> {
        context.reread_when_unchanged = true;
        if (!context.exists) {
          stale = true;
          return false;
        }
        // Under the row version read in this transaction: a replica that commits in between makes the
        // version check fail (conflict) rather than both writes succeeding.
        auto applied = apply_state_changes(context.after, changes, context.now, context.removed);
        if (!applied) return applied.error();
        stale = !*applied && !changes.empty();
        return applied;
      },
      &raced);
  if (!done && raced) {
    std::lock_guard guard(write_mutex_);
    if (write_conn_ && write_conn_->healthy()) reread(*write_conn_, *name);
    return ChangeOutcome::Stale;  // another replica committed this domain first
  }
  if (!done) return done.error();
  return stale ? ChangeOutcome::Stale : ChangeOutcome::Applied;
}

Result<SelectorInfo> PostgresKeyStore::add_domain(std::string_view domain, const KeyParams& params) {
  auto name = normalize_domain(domain);
  if (!name) return name.error();
  auto wanted = requested_selector(params);
  if (!wanted) return wanted.error();
  auto generated = generate_key(params, *options_.vault, *name);  // slow for RSA: before the transaction
  if (!generated) return generated.error();
  VaultGuard made(*options_.vault, generated->stored);
  SelectorInfo info;
  auto done = write(*name, [&](WriteContext& context) -> Result<bool> {
    if (context.exists) {
      return make_error(ErrorCode::conflict, "domain " + *name + " already exists; stage a new key for it instead");
    }
    auto selector = choose_selector(*wanted, *name, context.after, options_.selector_pattern, context.now);
    if (!selector) return selector.error();
    info = new_selector_info(*selector, *generated, params, KeyState::Active, context.now);
    context.after.delegated = params.delegated;
    context.after.selectors.push_back(info);
    context.new_keys.emplace_back(*selector, generated->stored);
    return true;
  });
  if (!done) return done.error();
  made.keep();
  return info;
}

Result<SelectorInfo> PostgresKeyStore::stage_key(std::string_view domain, const KeyParams& params) {
  auto name = normalize_domain(domain);
  if (!name) return name.error();
  auto wanted = requested_selector(params);
  if (!wanted) return wanted.error();
  auto generated = generate_key(params, *options_.vault, *name);
  if (!generated) return generated.error();
  VaultGuard made(*options_.vault, generated->stored);
  SelectorInfo info;
  auto done = write(*name, [&](WriteContext& context) -> Result<bool> {
    if (auto guarded = check_stage_guards(context.after, params); !guarded) return guarded.error();
    auto selector = choose_selector(*wanted, *name, context.after, options_.selector_pattern, context.now);
    if (!selector) return selector.error();
    info = new_selector_info(*selector, *generated, params, KeyState::Staged, context.now);
    if (params.delegated) context.after.delegated = true;
    context.after.selectors.push_back(info);
    context.new_keys.emplace_back(*selector, generated->stored);
    return true;
  });
  if (!done) return done.error();
  made.keep();
  return info;
}

Result<SelectorInfo> PostgresKeyStore::import_key(std::string_view domain, const SelectorInfo& wanted,
                                                  std::string_view pem, bool delegated) {
  auto name = normalize_domain(domain);
  if (!name) return name.error();
  auto parsed = parse_import(wanted, pem, signer::KeyPolicy{options_.allow_weak_rsa}, *options_.vault, *name);
  if (!parsed) return parsed.error();
  VaultGuard made(*options_.vault, parsed->stored);
  SelectorInfo info;
  auto done = write(*name, [&](WriteContext& context) -> Result<bool> {
    auto added = add_imported(context.after, parsed->info, context.now);
    if (!added) return added.error();
    if (delegated) context.after.delegated = true;
    info = std::move(*added);
    context.new_keys.emplace_back(info.selector, parsed->stored);
    return true;
  });
  if (!done) return done.error();
  made.keep();
  return info;
}

Result<std::vector<KeyMaterial>> PostgresKeyStore::export_keys() const {
  // Its own connection and one snapshot of the database: what the relays' caches hold may lag.
  auto connected = PgConnection::connect(options_.dsn);
  if (!connected) return connected.error();
  PgConnection& conn = **connected;
  const std::string s = quote_identifier(options_.schema);
  auto rows = conn.exec("SELECT " + std::string(kDomainColumns) + ", k.sealed_key FROM " + s + ".domains d JOIN " + s +
                        ".keys k ON k.domain = d.name ORDER BY d.name, k.id");
  if (!rows) return rows.error();
  std::vector<KeyMaterial> keys;
  keys.reserve(static_cast<std::size_t>(rows->rows()));
  for (int row = 0; row < rows->rows(); ++row) {
    SelectorInfo info = selector_from_row(*rows, row);
    const std::string domain(rows->text(row, 0));
    auto pem = open_row_key(kek_, rows->bytes(row, kSealedKeyColumn), domain, info, rows->text(row, 12),
                            signer::KeyPolicy{options_.allow_weak_rsa});
    if (!pem) {
      return make_error(ErrorCode::invalid, "cannot decrypt the private key of " + domain + " selector " +
                                                info.selector + " with kek_file: " + pem.error().message);
    }
    if (is_token_reference(*pem)) return make_error(ErrorCode::invalid, unexportable_message(domain, info.selector));
    keys.emplace_back(domain, std::move(info), std::move(*pem));
    keys.back().delegated = rows->text(row, kDelegatedColumn) == "t";
  }
  return keys;
}

// The domain's rotation override and the keys' DNS checks, where they changed (inside write()'s
// transaction; a key inserted by this write carries no check yet).
Result<void> PostgresKeyStore::write_rotation_and_checks(const WriteContext& context) {
  PgConnection& conn = *write_conn_;
  const std::string s = quote_identifier(options_.schema);
  if (context.after.rotation != context.before.rotation) {
    const RotationOverride& rotation = context.after.rotation;
    auto done = conn.exec(
        "UPDATE " + s + ".domains SET rotation = $2 WHERE name = $1",
        {PgParam::text(context.domain), rotation.empty() ? PgParam::null() : PgParam::text(rotation_json(rotation))});
    if (!done) return done.error();
  }
  if (context.after.publish_error != context.before.publish_error) {
    const PublishError& error = context.after.publish_error;
    auto done = conn.exec(
        "UPDATE " + s + ".domains SET publish_error = $2 WHERE name = $1",
        {PgParam::text(context.domain), error.empty() ? PgParam::null() : PgParam::text(publish_error_json(error))});
    if (!done) return done.error();
  }
  for (const SelectorInfo& info : context.after.selectors) {
    const SelectorInfo* old = context.before.find(info.selector);
    if (old == nullptr || old->dns_check == info.dns_check) continue;
    auto done =
        conn.exec("UPDATE " + s + ".keys SET dns_check = $3 WHERE domain = $1 AND selector = $2",
                  {PgParam::text(context.domain), PgParam::text(info.selector),
                   info.dns_check == DnsCheck{} ? PgParam::null() : PgParam::text(dns_check_json(info.dns_check))});
    if (!done) return done.error();
  }
  return {};
}

Result<void> PostgresKeyStore::set_rotation_override(std::string_view domain, const RotationOverride& rotation) {
  auto name = normalize_domain(domain);
  if (!name) return name.error();
  return write(*name, [&](WriteContext& context) -> Result<bool> {
    if (!context.exists) return make_error(ErrorCode::not_found, "no domain " + *name + " in the key store");
    if (context.after.rotation == rotation) return false;
    context.after.rotation = rotation;
    return true;
  });
}

Result<bool> PostgresKeyStore::record_dns_check(std::string_view domain, std::string_view selector,
                                                const DnsCheck& check) {
  auto name = normalize_domain(domain);
  if (!name) return name.error();
  auto wanted = normalize_selector(selector);
  if (!wanted) return wanted.error();
  bool changed = false;
  auto done = write(*name, [&](WriteContext& context) -> Result<bool> {
    if (!context.exists) return false;
    changed = apply_dns_check(context.after, *wanted, check);
    return changed;
  });
  if (!done) return done.error();
  return changed;
}

Result<bool> PostgresKeyStore::record_publish_error(std::string_view domain, const PublishError& error) {
  auto name = normalize_domain(domain);
  if (!name) return name.error();
  bool changed = false;
  auto done = write(*name, [&](WriteContext& context) -> Result<bool> {
    if (!context.exists) return false;
    changed = apply_publish_error(context.after, error);
    return changed;
  });
  if (!done) return done.error();
  return changed;
}

Result<void> PostgresKeyStore::remove_domain(std::string_view domain, bool force) {
  auto name = normalize_domain(domain);
  if (!name) return name.error();
  return write(*name, [&](WriteContext& context) -> Result<bool> {
    if (!context.exists) return make_error(ErrorCode::not_found, "no domain " + *name + " in the key store");
    if (!force) {
      std::string active;
      for (const SelectorInfo& info : context.before.selectors) {
        if (info.state == KeyState::Active) active += (active.empty() ? "" : ", ") + info.selector;
      }
      if (!active.empty()) {
        return make_error(ErrorCode::conflict, "domain " + *name + " still signs with active selector(s) " + active +
                                                   "; retire them first or force the removal");
      }
    }
    context.remove_domain = true;
    return true;
  });
}

Result<std::size_t> rewrap_postgres_keys(const std::string& dsn, const std::string& schema, const Kek& old_kek,
                                         const Kek& new_kek) {
  auto connected = PgConnection::connect(dsn);
  if (!connected) return connected.error();
  PgConnection& conn = **connected;
  if (auto checked = check_schema_version(conn, schema); !checked) return checked.error();
  const std::string s = quote_identifier(schema);
  if (auto begun = conn.exec("BEGIN"); !begun) return begun.error();
  auto fail = [&](Error error) -> Result<std::size_t> {
    (void)conn.exec("ROLLBACK");
    return error;
  };
  // FOR UPDATE: a key staged meanwhile by a replica waits for this transaction, then is sealed
  // under whichever KEK that replica holds.
  auto rows = conn.exec("SELECT id, domain, selector, sealed_key, algorithm, bits, dns_record FROM " + s +
                        ".keys ORDER BY id FOR UPDATE");
  if (!rows) return fail(rows.error());
  for (int row = 0; row < rows->rows(); ++row) {
    const std::string domain(rows->text(row, 1));
    SelectorInfo info;
    info.selector = std::string(rows->text(row, 2));
    const auto algorithm = signer::parse_algorithm(rows->text(row, 4));
    if (!algorithm)
      return fail(make_error(ErrorCode::invalid, "key " + domain + " " + info.selector + ": bad algorithm"));
    info.algorithm = *algorithm;
    info.bits = static_cast<int>(rows->integer(row, 5));
    const std::string record(rows->text(row, 6));
    // A row sealed before its public data was bound is checked against its key first, so a rewrap
    // never vouches for an altered record; weak keys are accepted here, they are only moved.
    auto pem = open_row_key(old_kek, rows->bytes(row, 3), domain, info, record, signer::KeyPolicy{true});
    if (!pem)
      return fail(make_error(ErrorCode::invalid, "key " + domain + " " + info.selector + ": " + pem.error().message));
    auto sealed = new_kek.seal(*pem, domain, info.selector, binding_of(info, record));
    OPENSSL_cleanse(pem->data(), pem->size());
    if (!sealed) return fail(sealed.error());
    auto updated = conn.exec("UPDATE " + s + ".keys SET sealed_key = $2 WHERE id = $1",
                             {PgParam::text(std::string(rows->text(row, 0))), PgParam::bytes(std::move(*sealed))});
    if (!updated) return fail(updated.error());
  }
  if (auto committed = conn.exec("COMMIT"); !committed) return committed.error();
  return static_cast<std::size_t>(rows->rows());
}

}  // namespace dkr::keystore
