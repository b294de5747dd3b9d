// app/keystore_backend.cpp: [keystore] mapped onto keystore::open, the one place in app/ that knows
// the backends. The config's type chooses the adapter; the rest of the app sees only Storage.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "config/config.hpp"
#include "keystore/key_envelope.hpp"
#include "keystore_backend.hpp"
#include "test_support.hpp"  // tests/keystore: TempDir

using namespace dkr;
using dkr::keystore::test::TempDir;

namespace {

config::Config load(const std::string& toml) {
  auto loaded = config::load_config_string(toml, "test.toml", config::Environment{});
  REQUIRE_MESSAGE(loaded.ok(), (loaded.errors.empty() ? std::string() : loaded.errors.front().to_string()));
  return loaded.config;
}

}  // namespace

TEST_CASE("[keystore] type = \"directory\": a directory Storage, no fleet, the path as its description") {
  TempDir dir;
  const auto path = (dir.path() / "keys").string();
  auto opened = app::open_keystore(load("[keystore]\ntype = \"directory\"\npath = \"" + path + "\"\n"), false);
  REQUIRE_MESSAGE(opened, (opened ? std::string() : opened.error().message));
  CHECK(opened->storage->fleet() == nullptr);
  CHECK(opened->description == path);
  CHECK(opened->pkcs11 == nullptr);
  CHECK(std::filesystem::is_directory(path));
  CHECK(opened->storage->leads_periodic_jobs());
}

TEST_CASE("[keystore] type = \"postgres\": the PostgreSQL adapter, which needs its KEK and its database") {
  TempDir dir;
  const auto kek = (dir.path() / "kek").string();
  const std::string toml =
      "[keystore]\ntype = \"postgres\"\ndsn = \"host=127.0.0.1 port=1 connect_timeout=2\"\n"
      "kek_file = \"" +
      kek + "\"\n";
  // No KEK file yet: refused naming the key, before any connection.
  auto without_kek = app::open_keystore(load(toml), false);
  REQUIRE_FALSE(without_kek);
  INFO(without_kek.error().message);
  CHECK(without_kek.error().message.find("kek_file " + kek) != std::string::npos);

  // With it, the PostgreSQL store is what is opened: the unreachable database is its error.
  REQUIRE(keystore::Kek::create(kek));
  auto unreachable = app::open_keystore(load(toml), false);
  REQUIRE_FALSE(unreachable);
  CHECK(unreachable.error().message.rfind("keystore (postgres): ", 0) == 0);
}
