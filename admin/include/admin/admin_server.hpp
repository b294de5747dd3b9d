#pragma once
// The admin HTTP/1.1 server (optionally TLS) on the caller's io_context, in the relay's process.
#include <memory>

#include <boost/asio/io_context.hpp>

#include "admin/admin_settings.hpp"
#include "keystore/key_store.hpp"
#include "common/result.hpp"

namespace dkr::admin {

class AdminServer {
 public:
  AdminServer(boost::asio::io_context& io, keystore::KeyStore& store, AdminSettings settings, AdminHooks hooks = {});
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds settings.listen, loads TLS material, starts accepting. (After-DNS activation is the
  // rotation scheduler's job, lifecycle/, run by serve whether or not this API is on.)
  Result<void> start();
  // Stops accepting, closes open connections and waits for running key store
  // calls to finish. Idempotent. The io_context must keep running until its handlers drain.
  void stop();
  // The bound port (useful with port 0); 0 before start().
  unsigned short port() const;
  // The [metrics] listener's bound port; 0 when there is none.
  unsigned short metrics_port() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace dkr::admin
