// What a slow private-key module does to the other sessions on the same I/O thread, with C_Sign on
// the I/O thread (relay.signing_threads = 0, settings only) and on the signing pool (the default).
// Not a test.
//
//   io_thread_probe [SECONDS_PER_CASE]
//   io_thread_probe SECONDS DELAY_MS SIGNING_THREADS   (one case; under callgrind: instructions per
//                                                      message, inline against the pool)
//
// An in-process RelayServer with one I/O thread (tests/relay/session_harness.hpp's key store and
// recording upstream). A key "outside the process" that sleeps D ms and then signs with an
// in-process RSA-2048 key stands for the module (D = 0, 2, 20: SoftHSM2 direct costs ~1 ms of CPU,
// p11-kit server a few ms of waiting, a network HSM or cloud KMS more). Four clients send 2 KB
// messages from its domain as fast as the relay answers; a fifth client on the same I/O thread
// sends NOOP after NOOP, and its round trips are what the table shows.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <spdlog/spdlog.h>

#include "session_harness.hpp"

using namespace relay_test;

namespace {

class DelayedKey : public signer::ExternalPrivateKey {
 public:
  explicit DelayedKey(std::chrono::microseconds delay) : delay_(delay) {}
  Result<std::string> sign(signer::Algorithm, std::string_view data) const override {
    if (delay_.count() > 0) std::this_thread::sleep_for(delay_);
    return rsa_key()->sign(data);
  }
  std::string describe() const override { return "delayed key"; }

 private:
  std::chrono::microseconds delay_;
};

std::string message_2kb() {
  std::string m = "From: App <app@slow.example>\r\nTo: user@example.org\r\nSubject: probe\r\n\r\n";
  while (m.size() < 2000) m += "0123456789012345678901234567890123456789012345678901234567890123456789012345\r\n";
  return m;
}

struct Figures {
  double p50 = 0, p99 = 0, max = 0;
  std::size_t noops = 0, messages = 0;
};

Figures run(unsigned signing_threads, std::chrono::microseconds delay, std::chrono::seconds length) {
  auto settings = test_settings();
  settings.threads = 1;
  settings.signing_threads = signing_threads;
  Relay relay(settings);
  relay.keys->add(
      "slow.example", "probe",
      std::make_shared<const signer::SigningKey>(
          signer::SigningKey::external(rsa_key()->public_pem(), std::make_shared<DelayedKey>(delay)).value()));
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> sent{0};
  const std::string message = message_2kb() + ".\r\n";
  std::vector<std::thread> senders;
  for (int i = 0; i < 4; ++i) {
    senders.emplace_back([&] {
      Client client(relay.port);
      if (client.code() != 220) return;
      client.send("EHLO probe\r\n");
      client.read_reply();
      while (!stop) {
        client.send("MAIL FROM:<app@slow.example>\r\nRCPT TO:<user@example.org>\r\nDATA\r\n");
        if (client.code() != 250 || client.code() != 250 || client.code() != 354) return;
        client.send(message);
        if (client.code() != 250) return;
        ++sent;
      }
    });
  }
  Client probe(relay.port);
  probe.code();
  std::vector<double> rtt;
  auto until = std::chrono::steady_clock::now() + length;
  while (std::chrono::steady_clock::now() < until) {
    auto t0 = std::chrono::steady_clock::now();
    probe.send("NOOP\r\n");
    if (probe.code() != 250) break;
    rtt.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  stop = true;
  for (auto& t : senders) t.join();
  std::sort(rtt.begin(), rtt.end());
  Figures f;
  f.noops = rtt.size();
  f.messages = sent;
  if (!rtt.empty()) {
    f.p50 = rtt[rtt.size() / 2];
    f.p99 = rtt[std::min(rtt.size() - 1, rtt.size() * 99 / 100)];
    f.max = rtt.back();
  }
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);
  const auto length = std::chrono::seconds(argc > 1 ? std::atoi(argv[1]) : 4);
  if (argc > 3) {  // one case, for callgrind: io_thread_probe SECONDS DELAY_MS SIGNING_THREADS
    auto f = run(static_cast<unsigned>(std::atoi(argv[3])), std::chrono::milliseconds(std::atoi(argv[2])), length);
    std::printf("messages %zu noops %zu\n", f.messages, f.noops);
    return 0;
  }
  std::printf("| module delay | C_Sign runs on | messages/s (4 senders) | NOOP round trip p50 / p99 / max (ms) |\n");
  std::printf("| --- | --- | --- | --- |\n");
  for (int delay_ms : {0, 2, 20}) {
    for (unsigned threads : {0u, 4u}) {
      auto f = run(threads, std::chrono::milliseconds(delay_ms), length);
      std::printf("| %d ms | %s | %.0f | %.2f / %.2f / %.2f (%zu NOOPs) |\n", delay_ms,
                  threads ? "signing pool (4 threads)" : "the I/O thread",
                  static_cast<double>(f.messages) / length.count(), f.p50, f.p99, f.max, f.noops);
      std::fflush(stdout);
    }
  }
}
