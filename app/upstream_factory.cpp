#include "upstream_factory.hpp"

#include "upstream/directory_upstream.hpp"
#include "upstream/smtp_upstream.hpp"

namespace dkr::app {

Result<std::shared_ptr<upstream::Upstream>> make_upstream(const config::Config& config, boost::asio::io_context& io) {
  const auto& u = config.upstream;
  if (u.type == config::UpstreamType::Directory) {
    auto dir = upstream::DirectoryUpstream::open(u.directory);
    if (!dir) return make_error("upstream.directory: " + dir.error().message);
    return std::shared_ptr<upstream::Upstream>(std::move(dir).value());
  }
  upstream::SmtpUpstreamSettings s;
  s.host = u.host;
  s.port = u.port;
  switch (u.starttls) {
    case config::StartTls::None:
      s.starttls = upstream::StartTlsPolicy::None;
      break;
    case config::StartTls::Opportunistic:
      s.starttls = upstream::StartTlsPolicy::Opportunistic;
      break;
    case config::StartTls::Required:
      s.starttls = upstream::StartTlsPolicy::Required;
      break;
  }
  s.ca_file = u.ca_file;
  s.verify_hostname = u.verify_hostname;
  s.username = u.username;
  s.password = u.password;
  s.helo_name = config.relay.hostname.empty() ? "localhost" : config.relay.hostname;
  s.connect_timeout = u.connect_timeout;
  s.command_timeout = u.command_timeout;
  s.pool_size = u.pool_size;
  auto smtp = upstream::SmtpUpstream::create(io.get_executor(), s);
  if (!smtp) return make_error("upstream: " + smtp.error().message);
  return std::shared_ptr<upstream::Upstream>(std::move(smtp).value());
}

}  // namespace dkr::app
