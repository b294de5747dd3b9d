#include "upstream/directory_upstream.hpp"

#include "common/private_directory.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <mutex>
#include <vector>

#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

namespace dkr::upstream {

namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

std::string unique_name() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  unsigned char random[8];
  RAND_bytes(random, sizeof random);
  std::string name = std::string(stamp) + "-";
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char b : random) {
    name += kHex[b >> 4];
    name += kHex[b & 15];
  }
  return name;
}

Result<void> write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error(std::strerror(errno));
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

// Writes `produce`'s output to dir/.name.tmp, fsyncs and renames it to dir/name.
template <class Produce>
Result<void> write_atomically(const fs::path& dir, const std::string& name, Produce&& produce) {
  fs::path temp = dir / ("." + name + ".tmp");
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
  if (fd < 0) return make_error("cannot create " + temp.string() + ": " + std::strerror(errno));
  Result<void> written = produce(fd);
  if (written && ::fsync(fd) != 0) written = make_error(std::string("fsync: ") + std::strerror(errno));
  ::close(fd);
  if (written && ::rename(temp.c_str(), (dir / name).c_str()) != 0) {
    written = make_error(std::string("rename: ") + std::strerror(errno));
  }
  if (!written) ::unlink(temp.c_str());
  return written;
}

void sync_directory(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

std::string address_of(const std::string& args) {
  auto open = args.find('<');
  auto close = args.find('>', open);
  if (open == std::string::npos || close == std::string::npos) return args;
  return args.substr(open + 1, close - open - 1);
}

struct Envelope {
  std::string mail_from;
  std::vector<std::string> rcpt_to;
};

SmtpReply store(const DirectoryUpstream::State& state, const Envelope& envelope, const OutboundMessage& message,
                const std::atomic<bool>& aborted) {
  std::string name = unique_name();
  nlohmann::json json;
  json["mail_from"] = address_of(envelope.mail_from);
  json["mail_from_args"] = envelope.mail_from;
  json["rcpt_to"] = nlohmann::json::array();
  json["rcpt_to_args"] = nlohmann::json::array();
  for (const auto& rcpt : envelope.rcpt_to) {
    json["rcpt_to"].push_back(address_of(rcpt));
    json["rcpt_to_args"].push_back(rcpt);
  }
  json["message"] = name + ".eml";
  std::string json_text = json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  auto written =
      write_atomically(state.directory, name + ".envelope.json", [&](int fd) { return write_all(fd, json_text); });
  if (written) {
    written = write_atomically(state.directory, name + ".eml", [&](int fd) -> Result<void> {
      if (auto w = write_all(fd, message.prepend); !w) return w;
      std::string chunk;
      for (std::uint64_t offset = 0;; offset += chunk.size()) {
        if (auto r = message.content->read(offset, 1 << 16, chunk); !r) return r;
        if (chunk.empty()) break;
        if (auto w = write_all(fd, chunk); !w) return w;
      }
      if (aborted.load()) return make_error("aborted");
      return {};
    });
    if (!written) ::unlink((state.directory / (name + ".envelope.json")).c_str());
  }
  if (!written) {
    if (aborted.load()) return make_reply(451, "4.3.0", "Transaction aborted");
    spdlog::error("directory upstream: {}", written.error().message);
    return make_reply(451, "4.3.0", "Cannot store message, try again later");
  }
  sync_directory(state.directory);
  return make_reply(250, "2.0.0", "Ok: queued as " + name + ".eml");
}

class DirectoryTransaction : public UpstreamTransaction {
 public:
  DirectoryTransaction(std::shared_ptr<DirectoryUpstream::State> state, asio::any_io_executor executor,
                       asio::thread_pool::executor_type pool)
      : state_(std::move(state)),
        executor_(std::move(executor)),
        pool_(pool),
        aborted_(std::make_shared<std::atomic<bool>>(false)) {}

  void mail_from(std::string args, ReplyHandler done) override {
    envelope_.mail_from = std::move(args);
    respond(make_reply(250, "2.1.0", "Ok"), std::move(done));
  }

  void rcpt_to(std::string args, ReplyHandler done) override {
    envelope_.rcpt_to.push_back(std::move(args));
    respond(make_reply(250, "2.1.5", "Ok"), std::move(done));
  }

  void data(OutboundMessage message, ReplyHandler done) override {
    if (aborted_->load()) {
      respond(make_reply(451, "4.3.0", "Transaction aborted"), std::move(done));
      return;
    }
    asio::post(pool_, [state = state_, envelope = envelope_, message = std::move(message), aborted = aborted_,
                       executor = executor_, done = std::move(done)]() mutable {
      SmtpReply reply = store(*state, envelope, message, *aborted);
      state->last_write_ok = reply.code == 250 || aborted->load();
      asio::post(executor, [reply = std::move(reply), done = std::move(done)]() mutable { done(std::move(reply)); });
    });
  }

  void abort() override { aborted_->store(true); }

 private:
  void respond(SmtpReply reply, ReplyHandler done) {
    asio::post(executor_, [reply = std::move(reply), done = std::move(done)]() mutable { done(std::move(reply)); });
  }

  std::shared_ptr<DirectoryUpstream::State> state_;
  asio::any_io_executor executor_;
  asio::thread_pool::executor_type pool_;
  std::shared_ptr<std::atomic<bool>> aborted_;
  Envelope envelope_;
};

}  // namespace

DirectoryUpstream::DirectoryUpstream(fs::path directory, unsigned threads)
    : state_(std::make_shared<State>()), pool_(threads ? threads : 1) {
  state_->directory = std::move(directory);
}

DirectoryUpstream::~DirectoryUpstream() { pool_.join(); }

Result<std::shared_ptr<DirectoryUpstream>> DirectoryUpstream::open(fs::path directory, unsigned threads) {
  if (auto made = create_private_directories(directory); !made) {
    return make_error("cannot create upstream directory " + directory.string() + ": " + made.error().message);
  }
  if (::access(directory.c_str(), W_OK) != 0) {
    return make_error("upstream directory " + directory.string() + " is not writable");
  }
  return std::shared_ptr<DirectoryUpstream>(new DirectoryUpstream(std::move(directory), threads));
}

void DirectoryUpstream::begin(asio::any_io_executor executor, BeginHandler done) {
  auto transaction = std::make_unique<DirectoryTransaction>(state_, executor, pool_.get_executor());
  asio::post(executor, [transaction = std::move(transaction), done = std::move(done)]() mutable {
    done(std::move(transaction), SmtpReply{});
  });
}

}  // namespace dkr::upstream
