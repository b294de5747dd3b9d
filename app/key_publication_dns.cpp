#include "key_publication_dns.hpp"

#include <future>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "admin/dkim_record.hpp"
#include "admin/dns_publication.hpp"
#include "admin/dns_txt_resolver.hpp"

namespace dkr::app {
namespace {

class DnsKeyPublicationProbe final : public lifecycle::KeyPublicationProbe {
 public:
  DnsKeyPublicationProbe() : work_(boost::asio::make_work_guard(io_)) {}
  ~DnsKeyPublicationProbe() override {
    if (resolver_) resolver_->shutdown();
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  Result<void> start(const admin::DnsResolverSettings& settings) {
    auto resolver = admin::DnsTxtResolver::create(io_, settings);
    if (!resolver) return resolver.error();
    resolver_ = std::move(*resolver);
    thread_ = std::thread([this] { io_.run(); });
    return {};
  }

  lifecycle::ProbeResult probe(std::string_view domain, std::string_view selector,
                               std::string_view expected_record) override {
    auto answer = std::make_shared<std::promise<admin::TxtLookup>>();
    auto future = answer->get_future();
    resolver_->resolve_txt(admin::dkim_record_name(selector, domain),
                           [answer](admin::TxtLookup lookup) { answer->set_value(std::move(lookup)); });
    const admin::TxtLookup lookup = future.get();  // the resolver's timeout bounds the wait
    const admin::PublicationCheck check = admin::check_publication(lookup, expected_record);
    lifecycle::ProbeResult result;
    result.detail = check.detail;
    result.found = lookup.records;
    switch (check.status) {
      case admin::PublicationStatus::Published:
        result.outcome = lifecycle::ProbeResult::Outcome::Proven;
        break;
      case admin::PublicationStatus::Pending:
        result.outcome = lifecycle::ProbeResult::Outcome::Missing;
        break;
      case admin::PublicationStatus::Mismatch:
        result.outcome = lifecycle::ProbeResult::Outcome::Mismatch;
        break;
      case admin::PublicationStatus::Error:
        result.outcome = lifecycle::ProbeResult::Outcome::Failed;
        break;
    }
    return result;
  }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::shared_ptr<admin::DnsTxtResolver> resolver_;
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<lifecycle::KeyPublicationProbe>> make_key_publication_probe(const config::Config& config) {
  admin::DnsResolverSettings settings;
  if (config.admin.dns_resolver) settings.server = config.admin.dns_resolver->to_string();
  settings.timeout = config.admin.dns_timeout;
  auto probe = std::make_unique<DnsKeyPublicationProbe>();
  if (auto started = probe->start(settings); !started) return started.error();
  return std::unique_ptr<lifecycle::KeyPublicationProbe>(std::move(probe));
}

std::chrono::milliseconds rotation_check_interval(const config::Config& config) {
  return config.admin.dns_check_interval;
}

}  // namespace dkr::app
