#pragma once
// Asynchronous TXT lookups with c-ares, driven by an Asio io_context: the channel's sockets are
// watched with stream_descriptor waits and its timeouts with a timer, so nothing blocks the I/O thread.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "common/result.hpp"

namespace dkr::admin {

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

struct DnsResolverSettings {
  std::string server;                       // "ip[:port]" or "[ipv6]:port"; empty = system resolvers (/etc/resolv.conf)
  std::chrono::milliseconds timeout{5000};  // whole lookup, retries included
};

class DnsTxtResolver {
 public:
  using Callback = std::function<void(TxtLookup)>;

  static Result<std::shared_ptr<DnsTxtResolver>> create(boost::asio::io_context& io,
                                                        const DnsResolverSettings& settings);
  virtual ~DnsTxtResolver() = default;

  // Thread-safe. `done` runs on the io_context, exactly once (Failed "cancelled" after shutdown()).
  virtual void resolve_txt(std::string name, Callback done) = 0;
  // Cancels outstanding lookups and refuses new ones.
  virtual void shutdown() = 0;
};

}  // namespace dkr::admin
