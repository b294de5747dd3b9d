// Signatures by keys outside the process (PKCS#11) are made on the signing pool, not on the I/O
// thread: a slow token delays only its own message. The slow key here is a gate the test opens.
#include <doctest/doctest.h>

#include "session_harness.hpp"
#include "signer/verifier.hpp"
#include "signing_pool.hpp"

using namespace relay_test;

namespace {

// An external private key that signs (with rsa_key()) only once the test opens the gate, and says
// when a signature is waiting there. `unavailable` makes it fail like a token that went away.
class GatedKey : public signer::ExternalPrivateKey {
 public:
  Result<std::string> sign(signer::Algorithm, std::string_view data) const override {
    std::unique_lock lock(mutex_);
    ++waiting_;
    changed_.notify_all();
    changed_.wait(lock, [this] { return open_; });
    --waiting_;
    changed_.notify_all();
    if (unavailable_) return make_error(ErrorCode::unavailable, "token gone (test)");
    return rsa_key()->sign(data);
  }
  std::string describe() const override { return "gated test key"; }

  // Waits (bounded) until `count` signatures wait at the gate.
  bool wait_for_waiting(int count) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 5s, [&] { return waiting_ >= count; });
  }
  // Waits (bounded) until no signature waits at the gate any more.
  bool wait_for_idle() const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 5s, [&] { return waiting_ == 0; });
  }
  void open(bool unavailable = false) {
    std::lock_guard lock(mutex_);
    open_ = true;
    unavailable_ = unavailable;
    changed_.notify_all();
  }

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  mutable int waiting_ = 0;
  bool open_ = false;
  bool unavailable_ = false;
};

// Opens the gate when the test ends, pass or fail, so that the relay can stop.
struct GateOpener {
  GatedKey& gate;
  ~GateOpener() { gate.open(); }
};

relay::RelaySettings one_io_thread() {
  auto s = test_settings();
  s.threads = 1;  // both sessions on the same I/O thread
  return s;
}

std::shared_ptr<const signer::SigningKey> gated(std::shared_ptr<GatedKey> gate) {
  return std::make_shared<const signer::SigningKey>(
      signer::SigningKey::external(rsa_key()->public_pem(), std::move(gate)).value());
}

const std::string kSlowMessage =
    "From: Carol <carol@slow.example>\r\nTo: bob@example.net\r\nSubject: slow\r\nMessage-ID: <2@slow.example>\r\n\r\n"
    "Signed by a slow token.\r\n";

void hello(Client& client) {
  REQUIRE(client.connected());
  REQUIRE(client.code() == 220);
  client.send("EHLO client.test\r\n");
  REQUIRE(client.code() == 250);
}

// MAIL .. the final dot, without reading the reply to the dot.
void send_until_dot(Client& client, const std::string& message) {
  client.send("MAIL FROM:<carol@slow.example>\r\n");
  REQUIRE(client.code() == 250);
  client.send("RCPT TO:<bob@example.net>\r\n");
  REQUIRE(client.code() == 250);
  client.send("DATA\r\n");
  REQUIRE(client.code() == 354);
  client.send(message + ".\r\n");
}

}  // namespace

TEST_CASE("a slow external key does not hold up other sessions on the same I/O thread") {
  Relay relay(one_io_thread());
  auto gate = std::make_shared<GatedKey>();
  GateOpener opener{*gate};
  relay.keys->add("slow.example", "gate", gated(gate));

  Client slow(relay.port);
  hello(slow);
  send_until_dot(slow, kSlowMessage);
  REQUIRE(gate->wait_for_waiting(1));  // the signature is being made, and waits

  // Meanwhile a second session on the same (only) I/O thread is served: greeting, EHLO, NOOP, and a
  // whole message signed in-process, accepted by the upstream.
  Client other(relay.port);
  hello(other);
  other.send("NOOP\r\n");
  CHECK(other.code() == 250);
  other.send("MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n");
  CHECK(other.code() == 250);
  CHECK(other.code() == 250);
  CHECK(other.code() == 354);
  other.send(kMessage + ".\r\n");
  CHECK(other.code() == 250);
  CHECK(relay.upstream->message_count() == 1);

  // The slow message has no answer yet and has not gone upstream: no 250 before the upstream has it.
  CHECK(gate->wait_for_waiting(1));
  CHECK(slow.nothing_received());

  gate->open();
  auto reply = slow.read_reply();
  CHECK(reply.code == 250);
  REQUIRE(relay.upstream->message_count() == 2);
  auto message = relay.upstream->messages()[1];
  CHECK(message.whole().find("Signed by a slow token.") != std::string::npos);
  auto results = signer::verify_message(message.whole(),
                                        [](std::string_view selector, std::string_view domain) -> Result<std::string> {
                                          if (domain == "slow.example" && selector == "gate")
                                            return rsa_key()->dns_record();
                                          return make_error("no such key");
                                        });
  REQUIRE(results.size() == 1);
  CHECK(results[0].pass);
  // The session goes on after the asynchronous end of data.
  slow.send("NOOP\r\n");
  CHECK(slow.code() == 250);
}

TEST_CASE("an external key whose token is gone: relay.unsigned decides (tempfail), nothing is delivered") {
  Relay relay(one_io_thread());
  auto gate = std::make_shared<GatedKey>();
  GateOpener opener{*gate};
  relay.keys->add("slow.example", "gate", gated(gate));
  Client slow(relay.port);
  hello(slow);
  send_until_dot(slow, kSlowMessage);
  REQUIRE(gate->wait_for_waiting(1));
  gate->open(/*unavailable=*/true);
  auto reply = slow.read_reply();
  CHECK(reply.code == 451);
  REQUIRE(!reply.lines.empty());
  CHECK(reply.lines.back().starts_with("4.7.1 "));
  CHECK(relay.upstream->message_count() == 0);
  slow.send("QUIT\r\n");
  CHECK(slow.code() == 221);
}

TEST_CASE("signing queue full: 451 4.3.0 at once, and the pool serves again once free") {
  auto settings = one_io_thread();
  settings.signing_threads = 1;
  settings.signing_queue = 0;
  Relay relay(settings);
  auto gate = std::make_shared<GatedKey>();
  GateOpener opener{*gate};
  relay.keys->add("slow.example", "gate", gated(gate));

  auto first = std::make_unique<Client>(relay.port);
  hello(*first);
  send_until_dot(*first, kSlowMessage);
  REQUIRE(gate->wait_for_waiting(1));  // the only signing thread is busy

  Client second(relay.port);
  hello(second);
  send_until_dot(second, kSlowMessage);
  auto refused = second.read_reply();
  CHECK(refused.code == 451);
  REQUIRE(!refused.lines.empty());
  CHECK(refused.lines.back() == "4.3.0 Signing queue full, try again later");

  gate->open();
  CHECK(first->code() == 250);
  // The pool's thread is free again: the second session's next message is signed and delivered.
  send_until_dot(second, kSlowMessage);
  CHECK(second.code() == 250);
  CHECK(relay.upstream->message_count() == 2);
}

TEST_CASE("a signature that never comes: the connection closes after command_timeout, nothing is delivered") {
  auto settings = one_io_thread();
  settings.command_timeout = std::chrono::milliseconds(300);
  Relay relay(settings);
  auto gate = std::make_shared<GatedKey>();
  GateOpener opener{*gate};
  relay.keys->add("slow.example", "gate", gated(gate));
  Client slow(relay.port);
  hello(slow);
  send_until_dot(slow, kSlowMessage);
  REQUIRE(gate->wait_for_waiting(1));
  CHECK(slow.closed_by_server());  // no reply at all: no 250 for a message that was not handed over
  CHECK(Relay::eventually([&] { return relay.metrics.transactions(relay::TransactionResult::Aborted) == 1; }));
  gate->open();  // the signature arrives after all, for a transaction that is gone
  REQUIRE(gate->wait_for_idle());
  Client other(relay.port);
  hello(other);  // the relay still serves; the late signature was dropped
  other.send("QUIT\r\n");
  CHECK(other.code() == 221);
  CHECK(relay.upstream->message_count() == 0);
}

TEST_CASE("SigningPool: bounded queue, threads only on demand") {
  relay::SigningPool pool(1, 1);
  CHECK_FALSE(pool.try_post([] { return relay::SigningPool::Completion{}; }));  // not started
  pool.start();
  std::mutex mutex;
  std::condition_variable changed;
  bool release = false;
  int ran = 0;
  auto job = [&]() -> relay::SigningPool::Completion {
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return release; });
    ++ran;
    changed.notify_all();
    return {};
  };
  CHECK(pool.try_post(job));        // runs (blocks)
  CHECK(pool.try_post(job));        // waits in the queue
  CHECK_FALSE(pool.try_post(job));  // queue full
  {
    std::lock_guard lock(mutex);
    release = true;
  }
  changed.notify_all();
  std::unique_lock lock(mutex);
  CHECK(changed.wait_for(lock, 5s, [&] { return ran == 2; }));
  lock.unlock();
  pool.stop();
}
