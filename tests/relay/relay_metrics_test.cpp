#include <doctest/doctest.h>

#include <map>
#include <sstream>

#include "relay/relay_metrics.hpp"

using namespace dkr::relay;
using namespace std::chrono_literals;

namespace {

// Checks the exposition line by line against the text format rules: every sample's metric family
// was announced by HELP and TYPE lines before it, names and labels are well-formed, values parse.
std::map<std::string, double> parse_exposition(const std::string& text) {
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;
  std::istringstream in(text);
  std::string line;
  REQUIRE(text.back() == '\n');
  while (std::getline(in, line)) {
    REQUIRE_FALSE(line.empty());
    if (line.starts_with("# HELP ")) continue;
    if (line.starts_with("# TYPE ")) {
      std::istringstream fields(line.substr(7));
      std::string name, type;
      fields >> name >> type;
      REQUIRE((type == "counter" || type == "gauge" || type == "histogram"));
      REQUIRE(types.count(name) == 0);
      types[name] = type;
      continue;
    }
    auto space = line.rfind(' ');
    REQUIRE(space != std::string::npos);
    std::string key = line.substr(0, space);
    std::string name = key.substr(0, key.find('{'));
    for (char c : name) REQUIRE((std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':'));
    std::string family = name;
    for (std::string suffix : {"_bucket", "_sum", "_count"}) {
      if (family.ends_with(suffix) && types.count(family.substr(0, family.size() - suffix.size())) &&
          types[family.substr(0, family.size() - suffix.size())] == "histogram") {
        family = family.substr(0, family.size() - suffix.size());
      }
    }
    INFO(line);
    REQUIRE(types.count(family) == 1);
    if (key.find('{') != std::string::npos) REQUIRE(key.back() == '}');
    samples[key] = std::stod(line.substr(space + 1));
  }
  return samples;
}

}  // namespace

TEST_CASE("Prometheus exposition is well-formed and counts what happened") {
  RelayMetrics metrics;
  metrics.connection_opened();
  metrics.connection_opened();
  metrics.connection_closed();
  metrics.transaction(TransactionResult::Accepted);
  metrics.transaction(TransactionResult::Accepted);
  metrics.transaction(TransactionResult::Tempfailed);
  metrics.signed_with(dkr::signer::Algorithm::Ed25519Sha256);
  metrics.unsigned_message(UnsignedReason::NoKey);
  metrics.upstream_reply(250);
  metrics.upstream_reply(451);
  metrics.upstream_reply(0);
  metrics.signing_latency(300us);
  metrics.signing_latency(2ms);
  metrics.signing_latency(20s);

  auto samples = parse_exposition(metrics.render_prometheus());
  CHECK(samples.at("dkim_relay_connections_open") == 1);
  CHECK(samples.at("dkim_relay_connections_total") == 2);
  CHECK(samples.at("dkim_relay_transactions_total{result=\"accepted\"}") == 2);
  CHECK(samples.at("dkim_relay_transactions_total{result=\"tempfailed\"}") == 1);
  CHECK(samples.at("dkim_relay_transactions_total{result=\"aborted\"}") == 0);
  CHECK(samples.at("dkim_relay_messages_signed_total{algorithm=\"ed25519-sha256\"}") == 1);
  CHECK(samples.at("dkim_relay_messages_signed_total{algorithm=\"rsa-sha256\"}") == 0);
  CHECK(samples.at("dkim_relay_messages_unsigned_total{reason=\"no_key\"}") == 1);
  CHECK(samples.at("dkim_relay_upstream_replies_total{class=\"2xx\"}") == 1);
  CHECK(samples.at("dkim_relay_upstream_replies_total{class=\"4xx\"}") == 1);
  CHECK(samples.at("dkim_relay_upstream_replies_total{class=\"error\"}") == 1);
  // Buckets are cumulative: 300us <= 0.0005, 2ms <= 0.0025, 20s only in +Inf.
  CHECK(samples.at("dkim_relay_signing_seconds_bucket{le=\"0.0005\"}") == 1);
  CHECK(samples.at("dkim_relay_signing_seconds_bucket{le=\"0.001\"}") == 1);
  CHECK(samples.at("dkim_relay_signing_seconds_bucket{le=\"0.0025\"}") == 2);
  CHECK(samples.at("dkim_relay_signing_seconds_bucket{le=\"10\"}") == 2);
  CHECK(samples.at("dkim_relay_signing_seconds_bucket{le=\"+Inf\"}") == 3);
  CHECK(samples.at("dkim_relay_signing_seconds_count") == 3);
  CHECK(samples.at("dkim_relay_signing_seconds_sum") == doctest::Approx(20.0023));
  CHECK(samples.at("dkim_relay_transaction_seconds_count") == 0);
}
