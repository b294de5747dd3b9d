#pragma once
// dkim_relay_dns_publish_failures_total{rcode}: publishing failures by the server's rcode (or
// "transport", "BADSIG", ...: PublishResult::rcode). The label set is bounded by DNS itself: a
// handful of rcodes and TSIG errors, never a domain or a name.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/prometheus_text.hpp"
#include "dns/record_publisher.hpp"

namespace dkr::dns {

inline constexpr std::string_view kPublishFailuresMetric = "dkim_relay_dns_publish_failures_total";

class PublishFailureCounter {
 public:
  // Counts a Failed result under its rcode; other outcomes are not failures (a Conflict is a state
  // to report, not a server error).
  void count(const PublishResult& result);
  std::uint64_t failures(std::string_view rcode) const;
  // The family and one sample per rcode seen. Thread-safe.
  void render(PrometheusText& out) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::uint64_t, std::less<>> by_rcode_;
};

// A RecordPublisher that counts the failures of the one it wraps.
class CountingPublisher final : public RecordPublisher {
 public:
  CountingPublisher(std::shared_ptr<RecordPublisher> inner, std::shared_ptr<PublishFailureCounter> counter)
      : inner_(std::move(inner)), counter_(std::move(counter)) {}

  PublishResult publish(std::string_view name, std::string_view text) override {
    return counted(inner_->publish(name, text));
  }
  PublishResult replace(std::string_view name, std::string_view expected, std::string_view text) override {
    return counted(inner_->replace(name, expected, text));
  }
  PublishResult remove(std::string_view name, std::string_view expected) override {
    return counted(inner_->remove(name, expected));
  }
  PublishResult probe() override { return counted(inner_->probe()); }

 private:
  PublishResult counted(PublishResult result) {
    counter_->count(result);
    return result;
  }
  std::shared_ptr<RecordPublisher> inner_;
  std::shared_ptr<PublishFailureCounter> counter_;
};

}  // namespace dkr::dns
