#include "test_support.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <cstdlib>
#include <fstream>
#include <netinet/in.h>
#include <random>
#include <spawn.h>
#include <sstream>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <doctest/doctest.h>

extern char** environ;

namespace dkr::upstream_test {

namespace {

pid_t spawn(const std::vector<std::string>& argv, bool quiet = false) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (quiet) {
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  }
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

bool reap(pid_t pid, std::chrono::milliseconds timeout) {
  return wait_until([&] { return waitpid(pid, nullptr, WNOHANG) == pid; }, timeout);
}

}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv) : pid_(spawn(argv)) {}

ChildProcess::~ChildProcess() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  if (!reap(pid_, 3s)) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

bool ChildProcess::running() { return pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == 0; }

int run_command(const std::vector<std::string>& argv) {
  const pid_t pid = spawn(argv, true);
  if (pid <= 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

namespace {

bool port_bindable(std::uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

std::uint16_t ephemeral_range_start() {
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  unsigned low = 0;
  return range >> low && low > 11000 && low < 65536 ? static_cast<std::uint16_t>(low) : 32768;
}

}  // namespace

// The same scheme as tests/system/port_reservation.py, and the same reservation directory: a port
// from bind(0) is an ephemeral one, which any outgoing connection on the machine may take before
// the server started on it binds it. Ports below the ephemeral range, reserved with a file created
// O_EXCL, are handed to nobody else in the run.
std::uint16_t free_port() {
  const char* dir_env = std::getenv("DKR_TEST_PORT_DIR");
  const fs::path dir = dir_env != nullptr ? fs::path(dir_env) : fs::path("/tmp/dkim-relay-test-ports");
  std::error_code ignored;
  fs::create_directories(dir, ignored);
  fs::permissions(dir, fs::perms::all | fs::perms::sticky_bit, ignored);
  const unsigned low = 10000;
  const unsigned high = ephemeral_range_start();
  std::mt19937 pick(std::random_device{}());
  for (int attempt = 0; attempt < 200; ++attempt) {
    const auto port = static_cast<std::uint16_t>(low + pick() % (high - low));
    if (!port_bindable(port)) continue;
    const fs::path reservation = dir / std::to_string(port);
    int fd = open(reservation.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0 && errno == EEXIST) {
      const auto age = fs::file_time_type::clock::now() - fs::last_write_time(reservation, ignored);
      if (age < std::chrono::hours(6) || !fs::remove(reservation, ignored)) continue;
      fd = open(reservation.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
    }
    if (fd < 0) continue;
    close(fd);
    return port;
  }
  throw std::runtime_error("no free, unreserved port on 127.0.0.1 below the ephemeral range after 200 tries");
}

bool port_accepts(std::uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);  // polling interval, not synchronisation
  }
}

std::optional<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

int count_in_file(const fs::path& path) {
  const auto text = read_file(path);
  return text && !text->empty() ? std::stoi(*text) : 0;
}

std::string source_dir() { return DKR_UPSTREAM_TEST_DIR; }

namespace {

void openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"/usr/bin/openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  if (run_command(argv) != 0) throw std::runtime_error("openssl failed: " + args.front());
}

void issue(const fs::path& dir, const std::string& name, const std::string& san, bool self_signed, const TestPki& ca) {
  const std::string key = (dir / (name + ".key")).string();
  const std::string cert = (dir / (name + ".pem")).string();
  const std::string ext = (dir / (name + ".ext")).string();
  std::ofstream(ext) << "subjectAltName=" << san << "\nbasicConstraints=CA:FALSE\n"
                     << "extendedKeyUsage=serverAuth\n";
  if (self_signed) {
    openssl({
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        key,
        "-out",
        cert,
        "-days",
        "2",
        "-subj",
        "/CN=" + name,
        "-addext",
        "subjectAltName=" + san,
    });
    return;
  }
  const std::string csr = (dir / (name + ".csr")).string();
  openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out",
           csr, "-subj", "/CN=" + name});
  openssl({"x509", "-req", "-in", csr, "-CA", ca.ca_cert.string(), "-CAkey", (dir / "ca.key").string(),
           "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext});
}

}  // namespace

const TestPki& test_pki() {
  static TempDir dir;
  static const TestPki pki = [] {
    TestPki p;
    const fs::path d = dir.path();
    p.ca_cert = d / "ca.pem";
    openssl({
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        (d / "ca.key").string(),
        "-out",
        p.ca_cert.string(),
        "-days",
        "2",
        "-subj",
        "/CN=dkr test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    });
    issue(d, "good", "DNS:localhost,IP:127.0.0.1", false, p);
    issue(d, "wrong", "DNS:other.example", false, p);
    issue(d, "selfsigned", "DNS:localhost,IP:127.0.0.1", true, p);
    p.good_cert = d / "good.pem";
    p.good_key = d / "good.key";
    p.wrong_name_cert = d / "wrong.pem";
    p.wrong_name_key = d / "wrong.key";
    p.self_signed_cert = d / "selfsigned.pem";
    p.self_signed_key = d / "selfsigned.key";
    return p;
  }();
  return pki;
}

PythonServer::PythonServer(const std::string& script, std::vector<std::string> extra_args) : port_(free_port()) {
  std::vector<std::string> argv{
      "/usr/bin/python3", source_dir() + "/" + script, "--port", std::to_string(port_), "--dir", dir_.path().string()};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  process_ = std::make_unique<ChildProcess>(argv);
  started_ = wait_until([&] { return port_accepts(port_) || !process_->running(); }, 10s) && process_->running();
}

std::shared_ptr<upstream::MessageSpool> make_spool(const std::string& content, const fs::path& spill_dir,
                                                   std::uint64_t threshold) {
  auto spool = std::make_shared<upstream::MessageSpool>(threshold, spill_dir);
  for (std::size_t pos = 0; pos < content.size(); pos += 100000) {
    if (!spool->append(std::string_view(content).substr(pos, 100000))) throw std::runtime_error("spool append");
  }
  return spool;
}

Driver::Driver(upstream::SmtpUpstreamSettings settings) : client_(boost::asio::make_strand(io_)) {
  auto created = upstream::SmtpUpstream::create(io_.get_executor(), std::move(settings));
  if (!created) throw std::runtime_error(created.error().message);
  upstream_ = std::move(created.value());
}

Driver::~Driver() {
  upstream_.reset();  // QUITs idle connections
  io_.restart();
  io_.run_for(3s);
}

bool Driver::run_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if (io_.stopped()) io_.restart();
    io_.run_one_for(20ms);
  }
  return true;
}

Driver::Begun Driver::begin() {
  std::optional<Begun> begun;
  bool on_client = true;
  upstream_->begin(client_, [&](std::unique_ptr<upstream::UpstreamTransaction> t, upstream::SmtpReply r) {
    on_client = client_.running_in_this_thread();
    begun = Begun{std::move(t), std::move(r)};
  });
  REQUIRE(run_until([&] { return begun.has_value(); }, 20s));
  CHECK(on_client);
  return std::move(*begun);
}

upstream::ReplyHandler Driver::recorder(std::shared_ptr<Awaited> into) {
  return [this, into](upstream::SmtpReply reply) {
    if (!client_.running_in_this_thread()) into->on_client_executor = false;
    ++into->calls;
    into->reply = std::move(reply);
  };
}

upstream::SmtpReply Driver::wait(const std::shared_ptr<Awaited>& awaited, std::chrono::milliseconds timeout) {
  REQUIRE(run_until([&] { return awaited->reply.has_value(); }, timeout));
  CHECK(awaited->on_client_executor);
  CHECK(awaited->calls == 1);
  return *awaited->reply;
}

upstream::SmtpReply Driver::mail(upstream::UpstreamTransaction& t, std::string args) {
  auto awaited = std::make_shared<Awaited>();
  t.mail_from(std::move(args), recorder(awaited));
  return wait(awaited);
}

upstream::SmtpReply Driver::rcpt(upstream::UpstreamTransaction& t, std::string args) {
  auto awaited = std::make_shared<Awaited>();
  t.rcpt_to(std::move(args), recorder(awaited));
  return wait(awaited);
}

upstream::SmtpReply Driver::data(upstream::UpstreamTransaction& t, upstream::OutboundMessage message) {
  auto awaited = std::make_shared<Awaited>();
  t.data(std::move(message), recorder(awaited));
  return wait(awaited, 30s);
}

upstream::SmtpUpstreamSettings settings_for(std::uint16_t port) {
  upstream::SmtpUpstreamSettings s;
  s.host = "127.0.0.1";
  s.port = port;
  s.starttls = upstream::StartTlsPolicy::Opportunistic;
  s.helo_name = "relay.test";
  s.connect_timeout = 5s;
  s.command_timeout = 10s;
  return s;
}

upstream::SmtpUpstreamSettings tls_settings_for(std::uint16_t port, const std::string& host) {
  upstream::SmtpUpstreamSettings s = settings_for(port);
  s.host = host;
  s.starttls = upstream::StartTlsPolicy::Required;
  s.ca_file = test_pki().ca_cert.string();
  return s;
}

std::vector<std::string> tls_server_args(std::vector<std::string> more) {
  const TestPki& pki = test_pki();
  std::vector<std::string> args{"--cert", pki.good_cert.string(), "--key", pki.good_key.string()};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

std::string text_of(const upstream::SmtpReply& reply) {
  std::string out;
  for (const auto& line : reply.lines) {
    if (!out.empty()) out += '\n';
    out += line;
  }
  return out;
}

}  // namespace dkr::upstream_test
