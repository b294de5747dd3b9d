#include "upstream_factory.hpp"

#include "upstream/directory_upstream.hpp"
#include "runtime_settings.hpp"
#include "upstream/smtp_upstream.hpp"

namespace dkr::app {

Result<std::shared_ptr<upstream::Upstream>> make_upstream(const config::Config& config, boost::asio::io_context& io) {
  const auto& u = config.upstream;
  if (u.type == config::UpstreamType::Directory) {
    auto dir = upstream::DirectoryUpstream::open(u.directory);
    if (!dir) return make_error("upstream.directory: " + dir.error().message);
    return std::shared_ptr<upstream::Upstream>(std::move(dir).value());
  }
  const upstream::SmtpUpstreamSettings s = upstream_settings(config);
  auto smtp = upstream::SmtpUpstream::create(io.get_executor(), s);
  if (!smtp) return make_error("upstream: " + smtp.error().message);
  return std::shared_ptr<upstream::Upstream>(std::move(smtp).value());
}

}  // namespace dkr::app
