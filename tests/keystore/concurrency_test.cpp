#include <doctest/doctest.h>

#include <limits>
#include <map>
#include <mutex>
#include <thread>

#include "lifecycle/key_lifecycle.hpp"
#include "test_support.hpp"

using namespace dkr::keystore;
using namespace dkr::keystore::test;

namespace {

constexpr std::uint64_t kNever = std::numeric_limits<std::uint64_t>::max();

// What the rotating thread published, in the order of a global epoch counter that it advances
// after each store operation returns.
struct Publication {
  std::string record;                    // TXT value published for the selector
  std::uint64_t inactive_from = kNever;  // lookups starting at or after this epoch must not get it
  std::uint64_t revoke_started = kNever;
};

}  // namespace

TEST_CASE("signing threads only ever use published keys while another thread rotates 1000 times") {
  TempDir dir(memory_backed_temp());
  auto store = open_store(dir.path());
  auto first = store->add_domain("rot.example", ed25519("k0"));
  REQUIRE(first);

  std::mutex log_mutex;
  std::map<std::string, Publication> log;
  log["k0"] = Publication{first->dns_record};
  std::atomic<std::uint64_t> epoch{1};
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> signatures{0};
  std::atomic<std::uint64_t> violations{0};
  std::mutex failure_mutex;
  std::string first_failure;

  auto fail = [&](const std::string& what) {
    ++violations;
    std::lock_guard guard(failure_mutex);
    if (first_failure.empty()) first_failure = what;
  };

  auto sign_loop = [&](int thread) {
    std::uint64_t n = 0;
    while (!stop.load()) {
      const std::string data = std::string("thread ") + std::to_string(thread) + " message " + std::to_string(n++);
      const std::uint64_t e0 = epoch.load();
      auto set = store->signer_for(n % 2 == 0 ? "rot.example" : "Mail.Rot.Example");
      if (!set || set->keys.size() != 1) {
        fail("no signing key at epoch " + std::to_string(e0));
        continue;
      }
      const ActiveKey& active = set->keys[0];
      auto signature = active.key->sign(data);
      if (!signature) {
        fail("sign failed: " + signature.error().message);
        continue;
      }
      Publication publication;
      {
        std::lock_guard guard(log_mutex);
        const auto it = log.find(active.selector);
        if (it == log.end()) {
          fail("signed with unpublished selector " + active.selector);
          continue;
        }
        publication = it->second;
      }
      if (e0 >= publication.inactive_from || e0 > publication.revoke_started) {
        fail("selector " + active.selector + " used at epoch " + std::to_string(e0) +
             " after it stopped being active at " + std::to_string(publication.inactive_from));
      }
      if (!verify_with_record(publication.record, data, *signature)) {
        fail("signature by " + active.selector + " does not verify with its published record");
      }
      ++signatures;
    }
  };

  std::vector<std::thread> signers;
  const int signer_count = std::getenv("KS_SIGNERS") ? std::atoi(std::getenv("KS_SIGNERS")) : 2;
  for (int i = 0; i < signer_count; ++i) signers.emplace_back(sign_loop, i);

  const int kRotations = std::getenv("KS_ROTATIONS") ? std::atoi(std::getenv("KS_ROTATIONS")) : 1000;
  std::vector<std::string> retiring;
  std::string active = "k0";
  std::string rotation_error;
  for (int i = 1; i <= kRotations && rotation_error.empty(); ++i) {
    const std::string selector = std::string("k") + std::to_string(i);
    auto staged = store->stage_key("rot.example", ed25519(selector));
    if (!staged) {
      rotation_error = staged.error().message;
      break;
    }
    {
      std::lock_guard guard(log_mutex);
      log[selector] = Publication{staged->dns_record};
    }
    ++epoch;
    if (auto activated = dkr::lifecycle::KeyLifecycle(*store).activate_forced("rot.example", selector); !activated) {
      rotation_error = activated.error().message;
      break;
    }
    const std::uint64_t after_activation = ++epoch;
    {
      std::lock_guard guard(log_mutex);
      log[active].inactive_from = after_activation;
    }
    retiring.push_back(active);
    active = selector;
    // Keep two retiring keys (mail in flight), revoke and delete older ones.
    while (retiring.size() > 2) {
      const std::string old = retiring.front();
      retiring.erase(retiring.begin());
      {
        std::lock_guard guard(log_mutex);
        log[old].revoke_started = epoch.load();
      }
      if (auto revoked = dkr::lifecycle::KeyLifecycle(*store).revoke("rot.example", old); !revoked) {
        rotation_error = revoked.error().message;
        break;
      }
      ++epoch;
      if (auto removed = dkr::lifecycle::KeyLifecycle(*store).remove_key("rot.example", old); !removed) {
        rotation_error = removed.error().message;
        break;
      }
      ++epoch;
    }
  }
  // Let the signers run a little on the final state too (bounded by a count, not a sleep).
  const std::uint64_t target = signatures.load() + 100;
  CHECK(eventually([&] { return signatures.load() >= target; }));
  stop = true;
  for (auto& thread : signers) thread.join();

  INFO(first_failure);
  CHECK(rotation_error.empty());
  CHECK(violations.load() == 0);
  CHECK(signatures.load() > 1000);
  MESSAGE("signatures made during 1000 rotations: " << signatures.load());
  auto info = store->domain("rot.example");
  REQUIRE(info);
  CHECK(info->selectors.size() == 3);  // the active key and two retiring ones
  CHECK(store->signer_for("rot.example")->keys.at(0).selector == "k1000");
}
