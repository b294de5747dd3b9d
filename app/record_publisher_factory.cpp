#include "record_publisher_factory.hpp"

#include "common/prometheus_text.hpp"
#include "dns/rfc2136_publisher.hpp"
#include "dns/tsig_key.hpp"

namespace dkr::app {

Result<std::unique_ptr<dns::RecordPublisher>> make_record_publisher(const config::Config& config) {
  const auto& publish = config.dns_publish;
  if (publish.type == config::DnsPublishType::None) return std::unique_ptr<dns::RecordPublisher>();
  auto key = dns::read_tsig_key_file(publish.tsig_key_file);
  if (!key) return make_error(ErrorCode::invalid, "dns.publish.tsig_key_file: " + key.error().message);
  dns::Rfc2136Settings settings;
  settings.server = publish.server ? publish.server->host : "";
  settings.port = publish.server ? publish.server->port : 53;
  settings.zone = publish.zone;
  settings.key = std::move(*key);
  settings.ttl = publish.ttl;
  settings.timeout = config.dns.timeout;
  auto publisher = dns::Rfc2136Publisher::create(std::move(settings));
  if (!publisher) return make_error(ErrorCode::invalid, publisher.error().message);
  return std::unique_ptr<dns::RecordPublisher>(std::move(*publisher));
}

lifecycle::DelegationSettings delegation_settings(const config::Config& config) {
  return lifecycle::DelegationSettings{config.dns_publish.zone, config.dns_publish.selectors};
}

std::string render_publish_failures(const dns::PublishFailureCounter& counter) {
  PrometheusText out;
  counter.render(out);
  return std::move(out).text();
}

}  // namespace dkr::app
