#pragma once
// Asynchronous TXT and CNAME lookups with c-ares, driven by an Asio io_context: the channel's sockets are
// watched with stream_descriptor waits and its timeouts with a timer, so nothing blocks the I/O thread.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "common/result.hpp"

namespace dkr::dns {

struct TxtLookup {
  enum class Outcome {
    Records,    // the name has TXT records (after following CNAMEs)
    NoRecords,  // NXDOMAIN or NODATA
    Failed,     // timeout, SERVFAIL, REFUSED, ...: `error` says which
  };
  Outcome outcome = Outcome::Failed;
  std::vector<std::string> records;  // each record's character-strings concatenated
  std::string error;
};

struct CnameLookup {
  enum class Outcome {
    Alias,    // the name is a CNAME: `target`
    NoAlias,  // NXDOMAIN, or the name exists without a CNAME
    Failed,   // timeout, SERVFAIL, REFUSED, ...: `error` says which
  };
  Outcome outcome = Outcome::Failed;
  std::string target;  // lowercase, without the trailing dot
  std::string error;
};

struct ResolverSettings {
  std::string server;                       // "ip[:port]" or "[ipv6]:port"; empty = system resolvers (/etc/resolv.conf)
  std::chrono::milliseconds timeout{5000};  // whole lookup, retries included
};

class Resolver {
 public:
  using Callback = std::function<void(TxtLookup)>;
  using CnameCallback = std::function<void(CnameLookup)>;

  static Result<std::shared_ptr<Resolver>> create(boost::asio::io_context& io, const ResolverSettings& settings);
  virtual ~Resolver() = default;

  // Thread-safe. `done` runs on the io_context, exactly once (Failed "cancelled" after shutdown()).
  virtual void resolve_txt(std::string name, Callback done) = 0;
  // The CNAME record at `name` itself (not followed); same threading as resolve_txt.
  virtual void resolve_cname(std::string name, CnameCallback done) = 0;
  // Cancels outstanding lookups and refuses new ones.
  virtual void shutdown() = 0;
};

}  // namespace dkr::dns
