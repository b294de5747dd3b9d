#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>

#include "lifecycle/key_lifecycle.hpp"
#include "test_support.hpp"

using namespace dkr::keystore;
using namespace dkr::keystore::test;

namespace {

std::vector<std::string> names_in(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& item : std::filesystem::directory_iterator(dir)) {
    names.push_back(item.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Runs `change` in a child process whose store kills it with SIGKILL right after `crash_step`.
void crash_child_at(const std::filesystem::path& root, const std::string& crash_step,
                    const std::function<void(DirectoryKeyStore&)>& change) {
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto options = options_for(root);
    options.write_step_hook = [&](std::string_view step) {
      if (step == crash_step) ::raise(SIGKILL);
    };
    auto store = DirectoryKeyStore::open(options);
    if (store) change(**store);
    ::_exit(0);  // the step was never reached
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
}

}  // namespace

TEST_CASE("crash between the PEM write and the metadata rename leaves the old state") {
  TempDir dir;
  {
    auto store = open_store(dir.path());
    REQUIRE(store->add_domain("crash.example", ed25519("first")));
  }
  const std::string metadata_before = read_text(dir / "crash.example" / "keys.json");
  crash_child_at(dir.path(), "pem-written",
                 [](DirectoryKeyStore& store) { (void)store.stage_key("crash.example", ed25519("second")); });
  // The killed child left an orphan key file behind.
  CHECK(std::filesystem::exists(dir / "crash.example" / "second.pem"));
  CHECK(read_text(dir / "crash.example" / "keys.json") == metadata_before);

  auto store = open_store(dir.path());
  CHECK(store->problems().empty());
  auto info = store->domain("crash.example");
  REQUIRE(info);
  REQUIRE(info->selectors.size() == 1);
  CHECK(info->selectors[0].selector == "first");
  CHECK(store->signer_for("crash.example")->keys.at(0).selector == "first");
  // The orphan was cleaned up and the selector can be used again.
  CHECK(names_in(dir / "crash.example") == std::vector<std::string>{"first.pem", "keys.json"});
  CHECK(store->stage_key("crash.example", ed25519("second")));
}

TEST_CASE("crash after the metadata rename: the transition is complete") {
  TempDir dir;
  {
    auto store = open_store(dir.path());
    REQUIRE(store->add_domain("done.example", ed25519("first")));
    REQUIRE(store->stage_key("done.example", ed25519("second")));
  }
  crash_child_at(dir.path(), "metadata-written", [](DirectoryKeyStore& store) {
    (void)dkr::lifecycle::KeyLifecycle(store).activate_forced("done.example", "second");
  });
  auto store = open_store(dir.path());
  CHECK(store->signer_for("done.example")->keys.at(0).selector == "second");
  auto info = store->domain("done.example");
  CHECK(info->selectors.at(0).state == KeyState::Retiring);
}

TEST_CASE("crash during add_domain: the half-made domain is ignored and cleaned") {
  TempDir dir;
  { auto store = open_store(dir.path()); }
  crash_child_at(dir.path(), "pem-written",
                 [](DirectoryKeyStore& store) { (void)store.add_domain("half.example", ed25519("k")); });
  CHECK(std::filesystem::exists(dir / "half.example" / "k.pem"));
  auto store = open_store(dir.path());
  CHECK(store->problems().empty());
  CHECK(store->list().empty());
  CHECK_FALSE(std::filesystem::exists(dir / "half.example"));
  CHECK(store->add_domain("half.example", ed25519("k")));
}

TEST_CASE("crash between metadata rename and PEM deletion leaves an orphan that is cleaned") {
  TempDir dir;
  {
    auto store = open_store(dir.path());
    REQUIRE(store->add_domain("rm.example", ed25519("a")));
    REQUIRE(store->stage_key("rm.example", ed25519("b")));
  }
  crash_child_at(dir.path(), "metadata-written", [](DirectoryKeyStore& store) {
    (void)dkr::lifecycle::KeyLifecycle(store).remove_key("rm.example", "b");
  });
  CHECK(std::filesystem::exists(dir / "rm.example" / "b.pem"));
  auto store = open_store(dir.path());
  CHECK(store->domain("rm.example")->selectors.size() == 1);
  CHECK_FALSE(std::filesystem::exists(dir / "rm.example" / "b.pem"));
}

TEST_CASE("leftover temp files and removed-domain folders are ignored and cleaned on open") {
  TempDir dir;
  {
    auto store = open_store(dir.path());
    REQUIRE(store->add_domain("tmp.example", ed25519("a")));
  }
  write_text(dir / "tmp.example" / ".keys.json.tmp.123.0", "{ half written");
  write_text(dir / "tmp.example" / ".b.pem.tmp.123.1", "-----BEGIN PRIV");
  std::filesystem::create_directory(dir / ".old.example.deleted.1.0");
  write_text(dir / ".old.example.deleted.1.0" / "keys.json", "{}");
  auto store = open_store(dir.path());
  CHECK(store->problems().empty());
  CHECK(store->signer_for("tmp.example"));
  CHECK(names_in(dir / "tmp.example") == std::vector<std::string>{"a.pem", "keys.json"});
  CHECK(names_in(dir.path()) == std::vector<std::string>{".lock", "tmp.example"});
}

TEST_CASE("a key file readable by group or others is refused unless allowed") {
  TempDir dir;
  {
    auto store = open_store(dir.path());
    REQUIRE(store->add_domain("perm.example", ed25519("k")));
    REQUIRE(store->add_domain("fine.example", ed25519("k")));
  }
  const auto key_file = dir / "perm.example" / "k.pem";
  std::filesystem::permissions(key_file, std::filesystem::perms(0640));
  {
    auto store = open_store(dir.path());
    CHECK(store->signer_for("perm.example") == nullptr);
    CHECK(store->signer_for("fine.example") != nullptr);
    const auto problems = store->problems();
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].domain == "perm.example");
    CHECK(problems[0].file == key_file.string());
    CHECK(problems[0].reason.find("0640") != std::string::npos);
    auto reloaded = store->reload();
    REQUIRE_FALSE(reloaded);
    CHECK(reloaded.error().message.find(key_file.string()) != std::string::npos);
  }
  auto options = options_for(dir.path());
  options.allow_group_readable_keys = true;
  auto store = open_store(options);
  CHECK(store->problems().empty());
  CHECK(store->signer_for("perm.example") != nullptr);
}

TEST_CASE("keys are parsed on first use after open; a bad or substituted key file never signs") {
  TempDir dir;
  {
    auto store = open_store(dir.path());
    REQUIRE(store->add_domain("garbage.example", ed25519("k")));
    REQUIRE(store->add_domain("swapped.example", ed25519("k")));
    REQUIRE(store->add_domain("fine.example", ed25519("k")));
  }
  write_text(dir / "garbage.example" / "k.pem", "-----BEGIN PRIVATE KEY-----\nnot base64\n");
  // A valid key that is not the one whose public half keys.json says was published.
  auto other = dkr::signer::SigningKey::generate(dkr::signer::Algorithm::Ed25519Sha256);
  REQUIRE(other);
  write_text(dir / "swapped.example" / "k.pem", other->private_pem());

  auto store = open_store(dir.path());
  CHECK(store->problems().empty());  // not parsed yet
  CHECK(store->stats().domains == 3);
  CHECK(store->signer_for("garbage.example") == nullptr);
  CHECK(store->signer_for("swapped.example") == nullptr);
  CHECK(store->signer_for("fine.example") != nullptr);
  const auto problems = store->check_keys();
  REQUIRE(problems.size() == 2);
  CHECK(problems[0].domain == "garbage.example");
  CHECK(problems[1].domain == "swapped.example");
  CHECK(problems[1].reason.find("does not match") != std::string::npos);
}
