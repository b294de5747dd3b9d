#pragma once
// The upstream MTA reached over SMTP: a pool of connections (optionally STARTTLS and AUTH) that
// carries one UpstreamTransaction at a time each.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "upstream/upstream.hpp"
#include "common/result.hpp"

namespace dkr::relay {

enum class StartTlsPolicy {
  None,           // never use STARTTLS (AUTH is then allowed in clear text: an explicit choice)
  Opportunistic,  // use STARTTLS when offered; only its absence lets the session continue in clear
  Required,       // refuse to send mail unless STARTTLS succeeds
};

struct SmtpUpstreamSettings {
  std::string host = "127.0.0.1";
  std::uint16_t port = 25;
  StartTlsPolicy starttls = StartTlsPolicy::Opportunistic;
  std::string ca_file;             // PEM bundle; empty means the system trust store
  bool verify_certificate = true;  // chain verification of the upstream's certificate
  bool verify_hostname = true;     // the certificate must name `host` (DNS name or IP address)
  std::string username;            // empty: no AUTH
  std::string password;
  std::string helo_name = "localhost";
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(30)};   // resolve + TCP connect
  std::chrono::milliseconds command_timeout{std::chrono::seconds(120)};  // each reply / write
  std::size_t pool_size = 4;                                             // idle connections kept
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(30)};      // then QUIT
};

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

 private:
  explicit SmtpUpstream(std::shared_ptr<UpstreamPool> pool);
  std::shared_ptr<UpstreamPool> pool_;
};

}  // namespace dkr::relay
