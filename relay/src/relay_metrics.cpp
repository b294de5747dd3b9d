#include "relay/relay_metrics.hpp"

#include "common/prometheus_text.hpp"

namespace dkr::relay {

namespace {

constexpr auto relaxed = std::memory_order_relaxed;

}  // namespace

void LatencyHistogram::observe(std::chrono::nanoseconds duration) {
  auto ns = duration.count() < 0 ? 0 : static_cast<std::uint64_t>(duration.count());
  double seconds = static_cast<double>(ns) / 1e9;
  std::size_t bucket = 0;
  while (bucket < kBounds.size() && seconds > kBounds[bucket]) ++bucket;
  buckets_[bucket].fetch_add(1, relaxed);
  sum_ns_.fetch_add(ns, relaxed);
  count_.fetch_add(1, relaxed);
}

void LatencyHistogram::render(PrometheusText& out, std::string_view name, std::string_view help) const {
  // Read the buckets once and derive _count from them, so that the exposition is self-consistent
  // (the +Inf bucket equals _count) even while other threads observe.
  std::array<std::uint64_t, kBounds.size() + 1> cumulative{};
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < cumulative.size(); ++i) cumulative[i] = total += buckets_[i].load(relaxed);
  out.histogram(name, help, kBounds, cumulative, static_cast<double>(sum_ns_.load(relaxed)) / 1e9);
}

void RelayMetrics::connection_opened() {
  connections_current_.fetch_add(1, relaxed);
  connections_total_.fetch_add(1, relaxed);
}

void RelayMetrics::connection_closed() { connections_current_.fetch_sub(1, relaxed); }

void RelayMetrics::transaction(TransactionResult result) {
  transactions_[static_cast<std::size_t>(result)].fetch_add(1, relaxed);
}

void RelayMetrics::signed_with(signer::Algorithm algorithm) {
  signed_[algorithm == signer::Algorithm::RsaSha256 ? 0 : 1].fetch_add(1, relaxed);
}

void RelayMetrics::unsigned_message(UnsignedReason reason) {
  unsigned_[static_cast<std::size_t>(reason)].fetch_add(1, relaxed);
}

void RelayMetrics::upstream_reply(int code) {
  std::size_t index = 3;
  if (code >= 200 && code < 300)
    index = 0;
  else if (code >= 400 && code < 500)
    index = 1;
  else if (code >= 500 && code < 600)
    index = 2;
  upstream_replies_[index].fetch_add(1, relaxed);
}

void RelayMetrics::stress_mode(bool on) {
  stress_on_.store(on, relaxed);
  if (on) stress_switches_.fetch_add(1, relaxed);
}

std::string RelayMetrics::render_prometheus() const {
  PrometheusText out;
  out.family("dkim_relay_connections_open", "gauge", "Inbound SMTP connections currently open.");
  out.sample_signed("dkim_relay_connections_open", {}, connections_current_.load(relaxed));
  out.family("dkim_relay_connections_total", "counter", "Inbound SMTP connections accepted.");
  out.sample("dkim_relay_connections_total", {}, connections_total_.load(relaxed));
  out.family("dkim_relay_stress_mode", "gauge", "1 while stress mode (short timeouts) is on.");
  out.sample("dkim_relay_stress_mode", {}, stress_on_.load(relaxed) ? 1 : 0);
  out.family("dkim_relay_stress_mode_switches_total", "counter", "Switches into stress mode.");
  out.sample("dkim_relay_stress_mode_switches_total", {}, stress_switches_.load(relaxed));

  out.family("dkim_relay_transactions_total", "counter",
             "Mail transactions by outcome of the final reply (aborted: RSET, QUIT or disconnect before it).");
  static constexpr std::array<std::string_view, 4> kResults{"accepted", "rejected", "tempfailed", "aborted"};
  for (std::size_t i = 0; i < kResults.size(); ++i) {
    out.sample("dkim_relay_transactions_total", {{"result", kResults[i]}}, transactions_[i].load(relaxed));
  }

  out.family("dkim_relay_messages_signed_total", "counter", "DKIM signatures added, by algorithm.");
  out.sample("dkim_relay_messages_signed_total", {{"algorithm", "rsa-sha256"}}, signed_[0].load(relaxed));
  out.sample("dkim_relay_messages_signed_total", {{"algorithm", "ed25519-sha256"}}, signed_[1].load(relaxed));

  out.family(
      "dkim_relay_messages_unsigned_total", "counter",
      "Messages without an active key: refused by the unsigned policy (no_key) or forwarded unsigned (policy_pass).");
  out.sample("dkim_relay_messages_unsigned_total", {{"reason", "no_key"}}, unsigned_[0].load(relaxed));
  out.sample("dkim_relay_messages_unsigned_total", {{"reason", "policy_pass"}}, unsigned_[1].load(relaxed));

  out.family("dkim_relay_upstream_replies_total", "counter",
             "Replies from the upstream to DATA, by class (error: no reply, connection lost or timed out).");
  static constexpr std::array<std::string_view, 4> kClasses{"2xx", "4xx", "5xx", "error"};
  for (std::size_t i = 0; i < kClasses.size(); ++i) {
    out.sample("dkim_relay_upstream_replies_total", {{"class", kClasses[i]}}, upstream_replies_[i].load(relaxed));
  }

  signing_.render(out, "dkim_relay_signing_seconds",
                  "Time to compute the DKIM signatures of one message after its end of data.");
  end_to_end_.render(out, "dkim_relay_transaction_seconds",
                     "Time from the end of a message's data to the final reply (signing plus upstream).");
  return std::move(out).text();
}

}  // namespace dkr::relay
