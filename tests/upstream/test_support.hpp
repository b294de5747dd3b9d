#pragma once
// Loopback servers as child processes, temp dirs, a test CA, and a synchronous driver for the
// asynchronous SmtpUpstream.
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include "upstream/message_spool.hpp"
#include "test_support/temp_dir.hpp"
#include "upstream/smtp_upstream.hpp"

namespace dkr::upstream_test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using dkr::test::TempDir;

// A child process killed (SIGTERM, then SIGKILL) and reaped on destruction.
class ChildProcess {
 public:
  explicit ChildProcess(const std::vector<std::string>& argv);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  bool running();

 private:
  pid_t pid_ = -1;
};

int run_command(const std::vector<std::string>& argv);  // exit status, -1 if it could not run
std::uint16_t free_port();
bool port_accepts(std::uint16_t port);
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout);
std::optional<std::string> read_file(const fs::path& path);
int count_in_file(const fs::path& path);  // integer in the file, 0 if absent

std::string source_dir();  // where the Python servers are

// A CA and server certificates signed by it (for 127.0.0.1 and localhost, and for another name),
// plus a self-signed one. Generated once per test run with the openssl command line tool.
struct TestPki {
  fs::path ca_cert;
  fs::path good_cert, good_key;                // SAN DNS:localhost, IP:127.0.0.1
  fs::path wrong_name_cert, wrong_name_key;    // SAN DNS:other.example
  fs::path self_signed_cert, self_signed_key;  // SAN as good, but not from the CA
};
const TestPki& test_pki();

// A Python SMTP server on a free loopback port; construction waits until it accepts connections.
class PythonServer {
 public:
  PythonServer(const std::string& script, std::vector<std::string> extra_args);
  std::uint16_t port() const { return port_; }
  const fs::path& dir() const { return dir_.path(); }
  int connections() const { return count_in_file(dir() / "connections"); }
  bool started() const { return started_; }

 private:
  TempDir dir_;
  std::uint16_t port_;
  std::unique_ptr<ChildProcess> process_;
  bool started_ = false;
};

std::shared_ptr<upstream::MessageSpool> make_spool(const std::string& content, const fs::path& spill_dir,
                                                   std::uint64_t threshold = 1 << 20);

// Drives SmtpUpstream on a single-threaded io_context; handlers must arrive on `client`.
class Driver {
 public:
  explicit Driver(upstream::SmtpUpstreamSettings settings);
  ~Driver();
  upstream::SmtpUpstream& upstream() { return *upstream_; }
  boost::asio::io_context& io() { return io_; }
  // Runs the io_context until `condition` holds or `timeout` passes.
  bool run_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 10s);

  struct Begun {
    std::unique_ptr<upstream::UpstreamTransaction> transaction;
    upstream::SmtpReply reply;
  };
  Begun begin();
  upstream::SmtpReply mail(upstream::UpstreamTransaction& t, std::string args);
  upstream::SmtpReply rcpt(upstream::UpstreamTransaction& t, std::string args);
  upstream::SmtpReply data(upstream::UpstreamTransaction& t, upstream::OutboundMessage message);

  // A handler that records its reply, checks the executor and counts invocations.
  struct Awaited {
    std::optional<upstream::SmtpReply> reply;
    int calls = 0;
    bool on_client_executor = true;
  };
  upstream::ReplyHandler recorder(std::shared_ptr<Awaited> into);
  upstream::SmtpReply wait(const std::shared_ptr<Awaited>& awaited, std::chrono::milliseconds timeout = 10s);

 private:
  boost::asio::io_context io_;
  boost::asio::strand<boost::asio::io_context::executor_type> client_;
  std::unique_ptr<upstream::SmtpUpstream> upstream_;  // destroyed before the io_context
};

upstream::SmtpUpstreamSettings settings_for(std::uint16_t port);
// settings_for(port) for an upstream that must do STARTTLS, its certificate checked against the
// test CA for `host` (the good certificate names localhost and 127.0.0.1).
upstream::SmtpUpstreamSettings tls_settings_for(std::uint16_t port, const std::string& host);
// recording_upstream.py's arguments to offer STARTTLS with the good certificate, then `more`.
std::vector<std::string> tls_server_args(std::vector<std::string> more = {});
std::string text_of(const upstream::SmtpReply& reply);  // all lines joined by '\n'

}  // namespace dkr::upstream_test
