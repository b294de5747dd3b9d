#pragma once
// The upstream MTA reached over SMTP: a pool of connections (optionally STARTTLS and AUTH) that
// carries one UpstreamTransaction at a time each.
#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "upstream/upstream.hpp"
#include "upstream/upstream_settings.hpp"
#include "common/result.hpp"

namespace dkr::upstream {

class UpstreamPool;

class SmtpUpstream final : public Upstream {
 public:
  // `io` runs the pool's housekeeping (expiry, QUIT of idle connections); each transaction and its
  // connection run on the executor given to begin(), i.e. the client session's. Fails if the TLS
  // context cannot be set up (e.g. an unreadable CA file).
  static Result<std::unique_ptr<SmtpUpstream>> create(boost::asio::any_io_executor io, SmtpUpstreamSettings settings);
  ~SmtpUpstream() override;  // QUITs idle connections; transactions in flight keep theirs alive
  SmtpUpstream(const SmtpUpstream&) = delete;
  SmtpUpstream& operator=(const SmtpUpstream&) = delete;

  void begin(boost::asio::any_io_executor executor, BeginHandler done) override;
  bool offers_smtputf8() const override;
  // True until an attempt to open a connection failed, then whatever the latest attempt said.
  bool reachable() const override;
  void release_idle() override;

  std::size_t idle_connections() const;
  // Idle connections a transaction on another io_context took and moved to its own.
  std::uint64_t connections_moved_between_threads() const;

 private:
  explicit SmtpUpstream(std::shared_ptr<UpstreamPool> pool);
  std::shared_ptr<UpstreamPool> pool_;
};

}  // namespace dkr::upstream
