// keystore::open and the Storage capabilities of the directory store (the PostgreSQL adapter's are in
// tests/pgstore/storage_open_test.cpp, against a real server).
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <fstream>

#include "keystore/storage.hpp"
#include "test_support.hpp"

namespace dkr::keystore::test {
namespace {

std::unique_ptr<Storage> open_directory(const std::filesystem::path& path) {
  StorageOptions options;
  options.directory = options_for(path);
  auto storage = keystore::open(std::move(options));
  if (!storage) throw std::runtime_error(storage.error().message);
  return std::move(*storage);
}

}  // namespace

TEST_CASE("keystore::open: the directory backend is the default; a store no fleet shares") {
  TempDir dir;
  auto storage = open_directory(dir.path());
  CHECK(storage->fleet() == nullptr);
  CHECK(storage->description() == dir.path().string());
  CHECK(dynamic_cast<DirectoryKeyStore*>(storage->keys().get()) != nullptr);
  CHECK(storage->problems().empty());

  // The keys and the transfer are the same store: what one writes the other exports.
  REQUIRE(storage->keys()->add_domain("open.example", ed25519("k1")));
  auto exported = storage->transfer().export_keys();
  REQUIRE(exported);
  REQUIRE(exported->size() == 1);
  CHECK(exported->front().domain == "open.example");
  CHECK(exported->front().info.selector == "k1");

  // A key moved in through the transfer signs.
  KeyMaterial moved = exported->front();
  moved.domain = "moved.example";
  REQUIRE(storage->transfer().import_key(moved.domain, moved.info, moved.pem));
  const auto set = storage->keys()->signer_for("moved.example");
  REQUIRE(set != nullptr);
  CHECK(set->keys.front().selector == "k1");
}

TEST_CASE("keystore::open: a broken domain is a problem of the storage, and the rest loads") {
  TempDir dir;
  { REQUIRE(open_directory(dir.path())->keys()->add_domain("good.example", ed25519("k1"))); }
  std::filesystem::create_directory(dir / "bad.example");
  std::ofstream(dir / "bad.example" / "keys.json") << "{ not json";
  auto storage = open_directory(dir.path());
  const auto problems = storage->problems();
  REQUIRE(problems.size() == 1);
  CHECK(problems.front().domain == "bad.example");
  CHECK(storage->keys()->signer_for("good.example") != nullptr);
}

TEST_CASE("keystore::open: an unusable directory is an error naming it") {
  TempDir dir;
  std::ofstream(dir / "file") << "not a directory";
  StorageOptions options;
  options.directory.path = dir / "file";
  auto storage = keystore::open(std::move(options));
  REQUIRE_FALSE(storage);
  CHECK(storage.error().message.rfind("keystore " + (dir / "file").string() + ": ", 0) == 0);
}

TEST_CASE("keystore::open: the PostgreSQL backend without a KEK is refused before any connection") {
  StorageOptions options;
  options.backend = StorageOptions::Backend::Postgres;
  options.postgres.dsn = "host=/nonexistent";
  auto storage = keystore::open(std::move(options));
  REQUIRE_FALSE(storage);
  CHECK(storage.error().code == ErrorCode::invalid);
  CHECK(storage.error().message.find("keystore (postgres)") != std::string::npos);
  CHECK(storage.error().message.find("key-encryption key") != std::string::npos);
}

TEST_CASE("the directory store's periodic jobs run in one process per directory: the lock file's holder") {
  TempDir dir;
  auto first = open_directory(dir.path());
  auto second = open_directory(dir.path());  // a second relay on the same directory
  CHECK(first->leads_periodic_jobs());
  CHECK_FALSE(second->leads_periodic_jobs());
  CHECK(first->leads_periodic_jobs());  // kept once taken
  struct stat st {};
  REQUIRE(::stat((dir / ".rotation.lock").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  first.reset();  // the holder goes; the kernel drops its lock
  CHECK(second->leads_periodic_jobs());

  // Another directory has its own leader.
  TempDir other;
  CHECK(open_directory(other.path())->leads_periodic_jobs());
}

TEST_CASE("the directory store follows outside changes with its watcher") {
  TempDir dir;
  auto storage = open_directory(dir.path());
  auto watcher = storage->follow_outside_changes();
  REQUIRE(watcher);
  REQUIRE(*watcher != nullptr);
  // Another process (here: another store on the same directory) adds a domain; the watcher reloads.
  REQUIRE(open_store(dir.path())->add_domain("outside.example", ed25519("k1")));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (storage->keys()->signer_for("outside.example") == nullptr && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(storage->keys()->signer_for("outside.example") != nullptr);
}

TEST_CASE("import_pem_file imports a PEM as the active key through either store's transfer, naming a bad file") {
  TempDir dir;
  auto storage = open_directory(dir.path());
  REQUIRE(storage->keys()->add_domain("src.example", ed25519("k1")));
  auto exported = storage->transfer().export_keys();
  REQUIRE(exported);
  const std::filesystem::path pem = dir / "key.pem";
  std::ofstream(pem) << exported->front().pem;
  auto imported = import_pem_file(storage->transfer(), "pem.example", "p1", pem);
  REQUIRE(imported);
  CHECK(imported->state == KeyState::Active);
  CHECK(storage->keys()->signer_for("pem.example") != nullptr);

  const std::filesystem::path junk = dir / "junk.pem";
  std::ofstream(junk) << "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n";
  auto refused = import_pem_file(storage->transfer(), "junk.example", "j1", junk);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.rfind(junk.string() + ": ", 0) == 0);
}

}  // namespace dkr::keystore::test
