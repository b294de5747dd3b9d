#pragma once
// The relay's counters and latency histograms, updated lock-free from any thread and rendered in
// the Prometheus text exposition format (version 0.0.4) for the admin API.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "signer/algorithm.hpp"

namespace dkr {
class PrometheusText;
}  // namespace dkr

namespace dkr::relay {

enum class TransactionResult { Accepted, Rejected, Tempfailed, Aborted };
enum class UnsignedReason { NoKey, PolicyPass };  // refused for lack of a key / forwarded unsigned

class LatencyHistogram {
 public:
  // Upper bounds in seconds; a last +Inf bucket is implied.
  static constexpr std::array<double, 14> kBounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                  0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  void observe(std::chrono::nanoseconds duration);
  void render(PrometheusText& out, std::string_view name, std::string_view help) const;

 private:
  std::array<std::atomic<std::uint64_t>, kBounds.size() + 1> buckets_{};  // non-cumulative
  std::atomic<std::uint64_t> sum_ns_{0};
  std::atomic<std::uint64_t> count_{0};
};

class RelayMetrics {
 public:
  void connection_opened();
  void connection_closed();
  void transaction(TransactionResult result);
  void signed_with(signer::Algorithm algorithm);
  void unsigned_message(UnsignedReason reason);
  void upstream_reply(int code);  // 0 or out of range = error (connection lost, timeout)
  void signing_latency(std::chrono::nanoseconds duration) { signing_.observe(duration); }
  void end_to_end_latency(std::chrono::nanoseconds duration) { end_to_end_.observe(duration); }
  void stress_mode(bool on);  // stress_mode.hpp: a switch on or off

  std::int64_t connections_current() const { return connections_current_.load(); }
  std::uint64_t transactions(TransactionResult result) const {
    return transactions_[static_cast<std::size_t>(result)].load();
  }

  std::string render_prometheus() const;

 private:
  std::atomic<std::int64_t> connections_current_{0};
  std::atomic<std::uint64_t> connections_total_{0};
  std::array<std::atomic<std::uint64_t>, 4> transactions_{};
  std::array<std::atomic<std::uint64_t>, 2> signed_{};
  std::array<std::atomic<std::uint64_t>, 2> unsigned_{};
  std::array<std::atomic<std::uint64_t>, 4> upstream_replies_{};  // 2xx, 4xx, 5xx, error
  std::atomic<bool> stress_on_{false};
  std::atomic<std::uint64_t> stress_switches_{0};  // to stress mode
  LatencyHistogram signing_;
  LatencyHistogram end_to_end_;
};

}  // namespace dkr::relay
