#include "key_publication_dns.hpp"

#include <future>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "dns/dkim_record.hpp"
#include "dns/key_proof.hpp"
#include "dns/resolver.hpp"

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

  Result<void> start(const dns::ResolverSettings& settings) {
    auto resolver = dns::Resolver::create(io_, settings);
    if (!resolver) return resolver.error();
    resolver_ = std::move(*resolver);
    thread_ = std::thread([this] { io_.run(); });
    return {};
  }

  lifecycle::ProbeResult probe(std::string_view domain, std::string_view selector,
                               std::string_view expected_record) override {
    auto answer = std::make_shared<std::promise<dns::TxtLookup>>();
    auto future = answer->get_future();
    resolver_->resolve_txt(dns::dkim_record_name(selector, domain),
                           [answer](dns::TxtLookup lookup) { answer->set_value(std::move(lookup)); });
    const dns::TxtLookup lookup = future.get();  // the resolver's timeout bounds the wait
    // The proof is the p= value, byte for byte: a record that merely parses as "ours" is not enough.
    const std::string public_key = dns::dkim_public_key(expected_record).value_or(std::string());
    const dns::KeyProof proof = dns::judge_key_proof(lookup, public_key);
    lifecycle::ProbeResult result;
    result.detail = proof.detail;
    result.found = lookup.records;
    switch (proof.outcome) {
      case dns::KeyProof::Outcome::Proven:
        result.outcome =
            public_key.empty() ? lifecycle::ProbeResult::Outcome::Mismatch : lifecycle::ProbeResult::Outcome::Proven;
        break;
      case dns::KeyProof::Outcome::Missing:
        result.outcome = lifecycle::ProbeResult::Outcome::Missing;
        break;
      case dns::KeyProof::Outcome::Mismatch:
        result.outcome = lifecycle::ProbeResult::Outcome::Mismatch;
        break;
      case dns::KeyProof::Outcome::Failed:
        result.outcome = lifecycle::ProbeResult::Outcome::Failed;
        break;
    }
    return result;
  }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::shared_ptr<dns::Resolver> resolver_;
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<lifecycle::KeyPublicationProbe>> make_key_publication_probe(const config::Config& config) {
  dns::ResolverSettings settings;
  if (config.dns.resolver) settings.server = config.dns.resolver->to_string();
  settings.timeout = config.dns.timeout;
  auto probe = std::make_unique<DnsKeyPublicationProbe>();
  if (auto started = probe->start(settings); !started) return started.error();
  return std::unique_ptr<lifecycle::KeyPublicationProbe>(std::move(probe));
}

std::chrono::milliseconds rotation_check_interval(const config::Config& config) { return config.dns.check_interval; }

}  // namespace dkr::app
