#pragma once
// In-process test rig: a RelayServer on 127.0.0.1:0 with an in-memory key store, a recording
// upstream, and a blocking socket client with deadlines.
#include <arpa/inet.h>
#include <poll.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/post.hpp>

#include "keystore/key_store.hpp"
#include "relay/relay_metrics.hpp"
#include "relay/relay_server.hpp"
#include "upstream/upstream.hpp"
#include "signer/signing_key.hpp"

namespace relay_test {

using namespace dkr;
using namespace std::chrono_literals;

// Keys are generated once per test binary: RSA generation is the slow part.
inline std::shared_ptr<const signer::SigningKey> rsa_key() {
  static auto key = std::make_shared<const signer::SigningKey>(
      signer::SigningKey::generate(signer::Algorithm::RsaSha256, 2048).value());
  return key;
}
inline std::shared_ptr<const signer::SigningKey> ed25519_key() {
  static auto key = std::make_shared<const signer::SigningKey>(
      signer::SigningKey::generate(signer::Algorithm::Ed25519Sha256).value());
  return key;
}

class FakeKeyStore : public keystore::KeyStore {
 public:
  void add(std::string domain, std::string selector, std::shared_ptr<const signer::SigningKey> key) {
    std::lock_guard lock(mutex_);
    auto& set = sets_[domain];
    set.domain = domain;
    set.keys.push_back({std::move(selector), std::move(key)});
  }
  // Exact domain or nearest parent, like the real store.
  std::shared_ptr<const keystore::SigningSet> signer_for(std::string_view from_domain) const override {
    std::lock_guard lock(mutex_);
    std::string domain(from_domain);
    while (true) {
      auto it = sets_.find(domain);
      if (it != sets_.end()) return std::make_shared<keystore::SigningSet>(it->second);
      auto dot = domain.find('.');
      if (dot == std::string::npos) return nullptr;
      domain = domain.substr(dot + 1);
    }
  }
  std::vector<keystore::DomainInfo> list() const override { return {}; }
  Result<keystore::DomainInfo> domain(std::string_view) const override { return make_error("n/a"); }
  Result<keystore::SelectorInfo> add_domain(std::string_view, const keystore::KeyParams&) override {
    return make_error("n/a");
  }
  Result<void> remove_domain(std::string_view, bool) override { return make_error("n/a"); }
  Result<keystore::SelectorInfo> stage_key(std::string_view, const keystore::KeyParams&) override {
    return make_error("n/a");
  }
  Result<keystore::ChangeOutcome> change_states(std::string_view, const std::vector<keystore::StateChange>&) override {
    return make_error("n/a");
  }
  Result<void> reload() override { return {}; }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, keystore::SigningSet> sets_;
};

struct RecordedMessage {
  std::string mail_from;
  std::vector<std::string> rcpt_to;
  std::string prepend;
  std::string content;
  std::string whole() const { return prepend + content; }
};

// Accepts everything unless told otherwise; records delivered messages and aborts.
class RecordingUpstream : public relay::Upstream {
 public:
  std::function<relay::SmtpReply(const std::string&)> mail_reply = [](const std::string&) {
    return relay::make_reply(250, "2.1.0", "upstream sender ok");
  };
  std::function<relay::SmtpReply(const std::string&)> rcpt_reply = [](const std::string&) {
    return relay::make_reply(250, "2.1.5", "upstream ok");
  };
  std::function<relay::SmtpReply()> data_reply = [] { return relay::make_reply(250, "2.0.0", "Ok: queued as ABC123"); };
  std::atomic<bool> fail_begin{false};
  std::atomic<bool> smtputf8{false};

  void begin(boost::asio::any_io_executor executor, BeginHandler done) override {
    ++begins;
    {
      std::lock_guard lock(mutex);
      begin_threads.insert(std::this_thread::get_id());  // the session's I/O thread
    }
    if (fail_begin) {
      boost::asio::post(executor, [done] { done(nullptr, relay::make_reply(451, "4.4.1", "upstream down")); });
      return;
    }
    auto transaction = std::make_unique<Transaction>(this, executor);
    boost::asio::post(executor, [done, t = transaction.release()]() mutable {
      done(std::unique_ptr<relay::UpstreamTransaction>(t), relay::SmtpReply{});
    });
  }
  bool offers_smtputf8() const override { return smtputf8; }
  bool reachable() const override { return true; }

  std::vector<RecordedMessage> messages() const {
    std::lock_guard lock(mutex);
    return delivered;
  }
  std::size_t message_count() const { return messages().size(); }

  std::atomic<int> begins{0};
  std::atomic<int> aborts{0};
  std::atomic<int> data_prepared{0};
  mutable std::mutex mutex;
  std::vector<RecordedMessage> delivered;
  std::set<std::thread::id> begin_threads;

 private:
  class Transaction : public relay::UpstreamTransaction {
   public:
    Transaction(RecordingUpstream* owner, boost::asio::any_io_executor executor) : owner_(owner), executor_(executor) {}
    void mail_from(std::string args, relay::ReplyHandler done) override {
      message_.mail_from = args;
      post(owner_->mail_reply(args), done);
    }
    void rcpt_to(std::string args, relay::ReplyHandler done) override {
      auto r = owner_->rcpt_reply(args);
      if (r.code / 100 == 2) message_.rcpt_to.push_back(args);
      post(r, done);
    }
    void prepare_data() override { ++owner_->data_prepared; }
    void data(relay::OutboundMessage message, relay::ReplyHandler done) override {
      auto r = owner_->data_reply();
      if (r.code / 100 == 2 && !aborted_) {
        message_.prepend = message.prepend;
        std::string chunk;
        for (std::uint64_t offset = 0;; offset += chunk.size()) {
          if (!message.content->read(offset, 1000, chunk).ok() || chunk.empty()) break;
          message_.content += chunk;
        }
        std::lock_guard lock(owner_->mutex);
        owner_->delivered.push_back(message_);
      }
      post(r, done);
    }
    void abort() override {
      aborted_ = true;
      ++owner_->aborts;
    }

   private:
    void post(relay::SmtpReply r, relay::ReplyHandler done) {
      boost::asio::post(executor_, [r, done] { done(r); });
    }
    RecordingUpstream* owner_;
    boost::asio::any_io_executor executor_;
    RecordedMessage message_;
    bool aborted_ = false;
  };
};

struct Reply {
  int code = 0;
  std::vector<std::string> lines;  // text after "NNN-" / "NNN "
  std::string text() const {
    std::string all;
    for (const auto& l : lines) all += l + "\n";
    return all;
  }
};

// A blocking client with a receive deadline on every read.
class Client {
 public:
  explicit Client(std::uint16_t port, const char* local_address = nullptr) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (local_address) {
      sockaddr_in local{};
      local.sin_family = AF_INET;
      ::inet_pton(AF_INET, local_address, &local.sin_addr);
      ::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local);
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }
  // Nothing from the server is waiting to be read, buffered or on the socket (does not block).
  bool nothing_received() {
    pollfd p{fd_, POLLIN, 0};
    return buffer_.empty() && ::poll(&p, 1, 0) == 0;
  }
  void send(std::string_view bytes) {
    while (!bytes.empty()) {
      auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  // Reads one complete (possibly multi-line) reply; code 0 on EOF, timeout or a line that is not
  // a reply. Once the client and the server are out of step (a wait timed out, the server closed,
  // or it sent something else), later reads answer 0 at once: a failing test then reports its
  // remaining checks as failures in milliseconds instead of waiting out a deadline for each.
  Reply read_reply() {
    Reply reply;
    while (!desynchronised_) {
      auto line = read_line();
      if (!line || !is_reply_line(*line)) break;
      reply.code = (((*line)[0] - '0') * 100) + (((*line)[1] - '0') * 10) + ((*line)[2] - '0');
      reply.lines.push_back(line->substr(4));
      if ((*line)[3] == ' ') return reply;
    }
    desynchronised_ = true;
    return Reply{};
  }
  int code() { return read_reply().code; }
  // True when the server closed the connection (EOF) before the deadline.
  bool closed_by_server() {
    if (eof_) return true;
    char c;
    auto n = ::recv(fd_, &c, 1, 0);
    return n == 0;
  }
  int fd() const { return fd_; }
  std::string buffered() const { return buffer_; }

 private:
  std::optional<std::string> read_line() {
    while (true) {
      auto pos = buffer_.find("\r\n");
      if (pos != std::string::npos) {
        auto line = buffer_.substr(0, pos);
        buffer_.erase(0, pos + 2);
        return line;
      }
      char chunk[4096];
      auto n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) {
        eof_ = n == 0;
        return std::nullopt;
      }
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }
  // "NNN " or "NNN-" with three digits, the first 2..5 (RFC 5321 4.2).
  static bool is_reply_line(const std::string& line) {
    return line.size() >= 4 && line[0] >= '2' && line[0] <= '5' && std::isdigit(static_cast<unsigned char>(line[1])) &&
           std::isdigit(static_cast<unsigned char>(line[2])) && (line[3] == ' ' || line[3] == '-');
  }
  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  bool desynchronised_ = false;
  std::string buffer_;
};

inline relay::RelaySettings test_settings() {
  relay::RelaySettings s;
  s.listen = {{"127.0.0.1", 0}};
  s.hostname = "relay.test";
  s.threads = 2;
  s.signing.algorithms = {signer::Algorithm::RsaSha256, signer::Algorithm::Ed25519Sha256};
  return s;
}

// A running server for one test.
struct Relay {
  explicit Relay(relay::RelaySettings settings = test_settings())
      : keys(std::make_shared<FakeKeyStore>()), upstream(std::make_shared<RecordingUpstream>()) {
    keys->add("example.com", "sel1", rsa_key());
    keys->add("example.com", "sel2", ed25519_key());
    server = std::make_unique<relay::RelayServer>(std::move(settings), keys, upstream, metrics);
    auto started = server->start();
    if (!started) throw std::runtime_error(started.error().message);
    port = server->endpoints().at(0).port();
  }
  ~Relay() { server->stop(0ms); }

  // Polls until `condition` holds or the deadline passes.
  template <class Condition>
  static bool eventually(Condition condition, std::chrono::milliseconds deadline = 3s) {
    auto until = std::chrono::steady_clock::now() + deadline;
    while (!condition()) {
      if (std::chrono::steady_clock::now() > until) return false;
      std::this_thread::sleep_for(2ms);
    }
    return true;
  }

  relay::RelayMetrics metrics;
  std::shared_ptr<FakeKeyStore> keys;
  std::shared_ptr<RecordingUpstream> upstream;
  std::unique_ptr<relay::RelayServer> server;
  std::uint16_t port = 0;
};

inline const std::string kMessage =
    "From: Alice <alice@example.com>\r\n"
    "To: bob@example.net\r\n"
    "Subject: test\r\n"
    "Message-ID: <1@example.com>\r\n"
    "\r\n"
    "Hello Bob.\r\n"
    "..a line that starts with a dot\r\n";

}  // namespace relay_test
