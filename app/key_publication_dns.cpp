#include "key_publication_dns.hpp"

#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
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
    return judge(future.get(), expected_record);  // the resolver's timeout bounds the wait
  }

  // Asynchronous on the resolver: up to `max_in_flight` lookups outstanding, each answer starting the
  // next; no thread per lookup.
  std::vector<lifecycle::ProbeResult> probe_all(const std::vector<lifecycle::ProbeRequest>& requests,
                                                std::size_t max_in_flight) override {
    struct Batch {
      std::mutex mutex;
      std::condition_variable finished;
      std::vector<dns::TxtLookup> lookups;
      std::size_t next = 0;
      std::size_t done = 0;
    };
    auto batch = std::make_shared<Batch>();
    batch->lookups.resize(requests.size());
    auto start = std::make_shared<std::function<void(std::size_t)>>();
    *start = [this, batch, start_weak = std::weak_ptr(start), &requests](std::size_t i) {
      resolver_->resolve_txt(dns::dkim_record_name(requests[i].selector, requests[i].domain),
                             [batch, start_weak, i](dns::TxtLookup lookup) {
                               std::optional<std::size_t> following;
                               {
                                 std::lock_guard lock(batch->mutex);
                                 batch->lookups[i] = std::move(lookup);
                                 ++batch->done;
                                 if (batch->next < batch->lookups.size()) following = batch->next++;
                                 if (batch->done == batch->lookups.size()) batch->finished.notify_all();
                               }
                               if (following) {
                                 if (auto next = start_weak.lock()) (*next)(*following);
                               }
                             });
    };
    {
      std::unique_lock lock(batch->mutex);
      const std::size_t first = std::min(requests.size(), std::max<std::size_t>(1, max_in_flight));
      batch->next = first;
      lock.unlock();
      for (std::size_t i = 0; i < first; ++i) (*start)(i);
      lock.lock();
      // Every lookup ends (answer, timeout, or "cancelled" at shutdown), so this wait ends too.
      batch->finished.wait(lock, [&] { return batch->done == requests.size(); });
    }
    std::vector<lifecycle::ProbeResult> results;
    results.reserve(requests.size());
    for (std::size_t i = 0; i < requests.size(); ++i) {
      results.push_back(judge(batch->lookups[i], requests[i].expected_record));
    }
    return results;
  }

 private:
  static lifecycle::ProbeResult judge(const dns::TxtLookup& lookup, std::string_view expected_record) {
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
