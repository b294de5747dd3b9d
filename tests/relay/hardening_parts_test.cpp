// Issue 12 items 5 and 6: the AUTH worker pool's bounded queue, the per-address AUTH failure
// back-off, and stress mode's thresholds, each on its own (the session tests drive them together).
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <future>

#include "auth_failure_backoff.hpp"
#include "auth_worker_pool.hpp"
#include "stress_mode.hpp"

using namespace dkr::relay;
using namespace std::chrono_literals;

TEST_CASE("the AUTH pool refuses a job at once when its queue is full, and runs queued ones") {
  AuthWorkerPool pool(1, 2);
  pool.start();
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> running;
  // One job occupies the only thread until released; two more fill the queue.
  REQUIRE(pool.try_post([&running, released] {
    running.set_value();
    released.wait();
  }));
  running.get_future().wait();
  std::atomic<int> ran{0};
  CHECK(pool.try_post([&ran] { ++ran; }));
  CHECK(pool.try_post([&ran] { ++ran; }));
  CHECK_FALSE(pool.try_post([&ran] { ++ran; }));  // queue full: the caller answers 454
  CHECK_FALSE(pool.try_post([&ran] { ++ran; }, AuthWorkerPool::Standing::Suspect));
  // An address that logged in before has a queue of its own, and runs first.
  std::atomic<bool> trusted_first{false};
  CHECK(pool.try_post([&] { trusted_first = ran == 0; }, AuthWorkerPool::Standing::Trusted));
  release.set_value();
  std::promise<void> last;
  // Poll-free: a job queued after the others runs after them on the single thread.
  while (!pool.try_post([&last] { last.set_value(); })) std::this_thread::yield();
  last.get_future().wait();
  CHECK(ran == 2);
  CHECK(trusted_first);
  pool.stop();
  CHECK_FALSE(pool.try_post([] {}));  // stopped
}

TEST_CASE("AUTH failures of a user from an address double its wait up to the cap; others are not delayed") {
  AuthFailureBackoff backoff(5000ms);
  const auto t0 = AuthFailureBackoff::Clock::now();
  CHECK(backoff.delay_for("192.0.2.1", "app", t0) == 0ms);
  CHECK(backoff.failed("192.0.2.1", "app", t0) == 1);
  CHECK(backoff.delay_for("192.0.2.1", "app", t0) == 1000ms);
  backoff.failed("192.0.2.1", "app", t0);
  CHECK(backoff.delay_for("192.0.2.1", "app", t0) == 2000ms);
  backoff.failed("192.0.2.1", "app", t0);
  CHECK(backoff.delay_for("192.0.2.1", "app", t0) == 4000ms);
  CHECK(backoff.failed("192.0.2.1", "app", t0) == 4);
  CHECK(backoff.delay_for("192.0.2.1", "app", t0) == 5000ms);  // capped
  CHECK(backoff.delay_for("192.0.2.2", "app", t0) == 0ms);
  // Another user on the same address (issue 24 item 4: the sidecar's app shares its address).
  CHECK(backoff.delay_for("192.0.2.1", "billing", t0) == 0ms);
  CHECK(backoff.failed("192.0.2.1", "billing", t0) == 1);
  // Forgotten after a quiet period (at least 10 minutes).
  CHECK(backoff.delay_for("192.0.2.1", "app", t0 + 11min) == 0ms);
  CHECK(backoff.failed("192.0.2.1", "app", t0 + 11min) == 1);
}

TEST_CASE("an address's standing: trusted after a success, suspect after failures only; a success clears its user") {
  AuthFailureBackoff backoff(5000ms);
  const auto t0 = AuthFailureBackoff::Clock::now();
  CHECK(backoff.standing("192.0.2.1", t0) == AuthWorkerPool::Standing::Unknown);
  backoff.failed("192.0.2.1", "app", t0);
  backoff.failed("192.0.2.1", "other", t0);
  CHECK(backoff.standing("192.0.2.1", t0) == AuthWorkerPool::Standing::Suspect);
  backoff.succeeded("192.0.2.2", "app", t0);
  CHECK(backoff.standing("192.0.2.2", t0) == AuthWorkerPool::Standing::Trusted);
  CHECK(backoff.delay_for("192.0.2.2", "app", t0) == 0ms);
  // A success clears that user's count from that address, and only that one.
  backoff.succeeded("192.0.2.1", "app", t0);
  CHECK(backoff.standing("192.0.2.1", t0) == AuthWorkerPool::Standing::Trusted);
  CHECK(backoff.delay_for("192.0.2.1", "app", t0) == 0ms);
  CHECK(backoff.failed("192.0.2.1", "app", t0) == 1);
  CHECK(backoff.delay_for("192.0.2.1", "other", t0) == 1000ms);
}

TEST_CASE("the back-off table stays bounded under a flood from many addresses") {
  AuthFailureBackoff backoff(1000ms, 100);
  const auto t0 = AuthFailureBackoff::Clock::now();
  for (int i = 0; i < 1000; ++i)
    backoff.failed("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256), "app", t0);
  // No assertion on which entries survive; only that it does not grow without bound (checked via
  // the newest address still being tracked).
  CHECK(backoff.delay_for("10.0.3.231", "app", t0) == 1000ms);
}

TEST_CASE("stress mode switches on at 75 % of max_connections and off below 50 %") {
  RelayMetrics metrics;
  StressMode stress(1000, metrics);
  CHECK_FALSE(stress.update(749));
  CHECK_FALSE(stress.active());
  CHECK(stress.update(750));
  CHECK(stress.active());
  CHECK_FALSE(stress.update(600));  // between the thresholds: stays on
  CHECK(stress.active());
  CHECK_FALSE(stress.update(500));
  CHECK(stress.update(499));
  CHECK_FALSE(stress.active());
  const auto text = metrics.render_prometheus();
  CHECK(text.find("dkim_relay_stress_mode_switches_total 1") != std::string::npos);
  CHECK(text.find("dkim_relay_stress_mode 0") != std::string::npos);
}
