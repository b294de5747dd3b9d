// Runs an AdminServer over an in-memory key store for the Python HTTP/DNS tests: prints
// "PORT <n>" on stdout once listening, and stops when stdin closes or on SIGTERM/SIGINT.
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <string>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>

#include "admin/admin_server.hpp"
#include "fake_key_store.hpp"
#include "keystore/directory_key_store.hpp"

namespace {

[[noreturn]] void usage(const char* message) {
  std::cerr << "admin_test_server: " << message
            << "\nusage: admin_test_server --token T [--listen A] [--dns-resolver ip:port] [--dns-timeout-ms N]\n"
               "       [--dns-check-interval-ms N] [--per-domain-metrics] [--tls-cert F --tls-key F]\n"
               "       [--max-body-size N] [--read-timeout-ms N] [--upstream-file F] [--key-dir D]\n";
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  dkr::admin::AdminSettings settings;
  settings.listen = "127.0.0.1:0";
  std::string upstream_file;
  std::string key_dir;  // DirectoryKeyStore there; the in-memory fake when empty
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value for " + arg).c_str());
      return argv[++i];
    };
    if (arg == "--token")
      settings.token = next();
    else if (arg == "--listen")
      settings.listen = next();
    else if (arg == "--dns-resolver")
      settings.dns_resolver = next();
    else if (arg == "--dns-timeout-ms")
      settings.dns_timeout = std::chrono::milliseconds(std::stol(next()));
    else if (arg == "--dns-check-interval-ms")
      settings.dns_check_interval = std::chrono::milliseconds(std::stol(next()));
    else if (arg == "--per-domain-metrics")
      settings.per_domain_metrics = true;
    else if (arg == "--tls-cert")
      settings.tls_cert = next();
    else if (arg == "--tls-key")
      settings.tls_key = next();
    else if (arg == "--max-body-size")
      settings.max_body_size = std::stoul(next());
    else if (arg == "--read-timeout-ms")
      settings.read_timeout = std::chrono::milliseconds(std::stol(next()));
    else if (arg == "--upstream-file")
      upstream_file = next();
    else if (arg == "--key-dir")
      key_dir = next();
    else
      usage(("unknown argument " + arg).c_str());
  }
  // Logs (the audit trail included) go to stderr: stdout carries only the PORT line.
  spdlog::set_default_logger(spdlog::stderr_color_mt("admin"));
  spdlog::set_level(spdlog::level::info);

  dkr::admin::AdminHooks hooks;
  hooks.relay_metrics = [] {
    return std::string(
        "# HELP dkim_relay_test_up Set by the test server.\n# TYPE dkim_relay_test_up gauge\n"
        "dkim_relay_test_up 1\n");
  };
  if (!upstream_file.empty()) {
    hooks.upstream_reachable = [upstream_file] { return std::filesystem::exists(upstream_file); };
  }

  std::unique_ptr<dkr::keystore::KeyStore> store;
  if (key_dir.empty()) {
    store = std::make_unique<dkr::admin::testing::FakeKeyStore>();
  } else {
    dkr::keystore::DirectoryKeyStoreOptions options;
    options.path = key_dir;
    auto opened = dkr::keystore::DirectoryKeyStore::open(options);
    if (!opened) {
      std::cerr << "admin_test_server: " << opened.error().message << "\n";
      return 1;
    }
    store = std::move(*opened);
  }
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  dkr::admin::AdminServer server(io, *store, settings, hooks);
  if (auto ok = server.start(); !ok) {
    std::cerr << "admin_test_server: " << ok.error().message << "\n";
    return 1;
  }
  std::cout << "PORT " << server.port() << std::endl;

  bool stopping = false;
  const auto shutdown = [&] {
    if (stopping) return;
    stopping = true;
    server.stop();
    work.reset();
  };
  boost::asio::signal_set signals(io, SIGTERM, SIGINT);
  boost::asio::posix::stream_descriptor input(io);
  signals.async_wait([&](auto ec, int) {
    if (ec) return;
    shutdown();
    boost::system::error_code ignored;
    input.cancel(ignored);
  });
  // Watching stdin on the io_context (not a thread) keeps shutdown single-threaded. When stdin
  // cannot be watched (a regular file, /dev/null), only signals stop the server.
  boost::system::error_code assigned;
  const int input_fd = ::dup(STDIN_FILENO);
  input.assign(input_fd, assigned);
  if (assigned && input_fd >= 0) ::close(input_fd);
  std::array<char, 256> buffer{};
  std::function<void()> read_input = [&] {
    input.async_read_some(boost::asio::buffer(buffer), [&](auto ec, std::size_t) {
      if (ec == boost::asio::error::operation_aborted) return;
      if (!ec) return read_input();
      shutdown();
      signals.cancel();
    });
  };
  if (!assigned) read_input();
  io.run();
  return 0;
}
