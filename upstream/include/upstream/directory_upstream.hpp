#pragma once
// The embedded default upstream, for trying the relay out: every accepted message becomes a file.
//
// For each message, <dir>/<UTC timestamp>-<random>.eml holds exactly the bytes an SMTP upstream
// would have received (Received and DKIM-Signature fields on top of the client's message, not
// dot-stuffed), and <same name>.envelope.json the envelope (MAIL FROM and RCPT TO arguments): the
// message itself is not modified, so its signature can be verified as is. Both are written to a
// temporary name, fsynced and renamed, the .json first: a reader that sees the .eml sees it whole.
//
// File writes block, so they run on a small thread pool of this object, not on the SMTP threads.
#include <atomic>
#include <filesystem>
#include <memory>

#include <boost/asio/thread_pool.hpp>

#include "upstream/upstream.hpp"
#include "common/result.hpp"

namespace dkr::upstream {

class DirectoryUpstream : public Upstream, public std::enable_shared_from_this<DirectoryUpstream> {
 public:
  // Creates the directory (mode 0750) when missing.
  static Result<std::shared_ptr<DirectoryUpstream>> open(std::filesystem::path directory, unsigned threads = 2);
  ~DirectoryUpstream() override;

  void begin(boost::asio::any_io_executor executor, BeginHandler done) override;
  bool offers_smtputf8() const override { return true; }  // bytes are stored as received
  bool reachable() const override { return state_->last_write_ok.load(); }

  const std::filesystem::path& directory() const { return state_->directory; }

  struct State {
    std::filesystem::path directory;
    std::atomic<bool> last_write_ok{true};
  };

 private:
  DirectoryUpstream(std::filesystem::path directory, unsigned threads);
  std::shared_ptr<State> state_;
  boost::asio::thread_pool pool_;
};

}  // namespace dkr::upstream
