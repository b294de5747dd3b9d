// `dkim-relay db migrate` and the keystore commands that need the config's database: the
// PostgreSQL (fleet) keystore's administration.
#include <iostream>

#include "cli_args.hpp"
#include "commands.hpp"
#include "config/config.hpp"
#include "keystore/postgres_key_store.hpp"
#include "keystore_backend.hpp"

namespace dkr::app {
namespace {

constexpr std::string_view kDbUsage = R"(usage: dkim-relay db migrate --config FILE
Creates or upgrades the PostgreSQL keystore schema named by [keystore] schema in the database of
[keystore] dsn / dsn_file / DKIM_RELAY_KEYSTORE_DSN. Idempotent; safe to run from every replica.
)";

Result<config::Config> load_postgres_config(std::string_view path) {
  const config::LoadResult loaded = config::load_config(std::string(path));
  if (!loaded.ok()) {
    std::string message;
    for (const auto& e : loaded.errors) message += e.to_string() + "\n";
    return make_error(ErrorCode::invalid, message + std::to_string(loaded.errors.size()) + " configuration problem(s)");
  }
  if (loaded.config.keystore.type != config::KeystoreType::Postgres) {
    return make_error(ErrorCode::invalid, std::string(path) + ": [keystore] type is not \"postgres\"");
  }
  return loaded.config;
}

}  // namespace

Result<OpenedKeystore> open_configured_keystore(std::string_view config_path) {
  const config::LoadResult loaded = config::load_config(std::string(config_path));
  if (!loaded.ok()) {
    std::string message;
    for (const auto& e : loaded.errors) message += e.to_string() + "\n";
    return make_error(ErrorCode::invalid, message + std::to_string(loaded.errors.size()) + " configuration problem(s)");
  }
  return open_keystore(loaded.config, /*watch=*/false);
}

int run_rewrap(std::string_view config_path, std::string_view old_kek_file, std::string_view new_kek_file) {
  auto cfg = load_postgres_config(config_path);
  if (!cfg) {
    std::cerr << "keys rewrap: " << cfg.error().message << "\n";
    return 2;
  }
  auto old_kek = load_checked_kek("--old-kek", std::string(old_kek_file));
  auto new_kek = load_checked_kek("--new-kek", std::string(new_kek_file));
  if (!old_kek || !new_kek) {
    std::cerr << "keys rewrap: " << (old_kek ? new_kek.error().message : old_kek.error().message) << "\n";
    return 1;
  }
  auto count = keystore::rewrap_postgres_keys(cfg->keystore.dsn, cfg->keystore.schema, *old_kek, *new_kek);
  if (!count) {
    std::cerr << "keys rewrap: " << count.error().message << " (nothing was changed)\n";
    return 1;
  }
  std::cout << "rewrapped " << *count << " key(s) under " << new_kek_file
            << "; point kek_file at it and restart the relays\n";
  return 0;
}

int run_db(Args args) {
  const CliArgs cli(args, {"config"});
  if (cli.flag("help")) {
    std::cout << kDbUsage;
    return 0;
  }
  const auto& words = cli.positional();
  if (!cli.ok() || words.size() != 1 || words[0] != "migrate" || !cli.value("config")) {
    std::cerr << "db: " << (cli.ok() ? "expected: migrate --config FILE" : cli.error()) << "\n" << kDbUsage;
    return 2;
  }
  auto cfg = load_postgres_config(*cli.value("config"));
  if (!cfg) {
    std::cerr << "db: " << cfg.error().message << "\n";
    return 2;
  }
  auto version = keystore::migrate_postgres_schema(cfg->keystore.dsn, cfg->keystore.schema);
  if (!version) {
    std::cerr << "db migrate: " << version.error().message << "\n";
    return 1;
  }
  std::cout << "keystore schema " << cfg->keystore.schema << " is at version " << *version << "\n";
  return 0;
}

}  // namespace dkr::app
