// dkim_relay_dns_publish_failures_total{rcode}: failures only, by rcode, through the counting wrapper.
#include <doctest/doctest.h>

#include "dns/publish_metrics.hpp"

using namespace dkr::dns;

namespace {

// Answers whatever the test sets next.
class ScriptedPublisher final : public RecordPublisher {
 public:
  PublishResult next;
  PublishResult publish(std::string_view, std::string_view) override { return next; }
  PublishResult replace(std::string_view, std::string_view, std::string_view) override { return next; }
  PublishResult remove(std::string_view, std::string_view) override { return next; }
  PublishResult probe() override { return next; }
};

}  // namespace

TEST_CASE("failures are counted by rcode; changes, no-ops and conflicts are not failures") {
  auto inner = std::make_shared<ScriptedPublisher>();
  auto counter = std::make_shared<PublishFailureCounter>();
  CountingPublisher publisher(inner, counter);

  inner->next = {PublishResult::Outcome::Failed, {}, "BADSIG", "the server answered NOTAUTH (TSIG error BADSIG)"};
  CHECK(publisher.publish("a.zone", "v=DKIM1; p=A").rcode == "BADSIG");  // passed through unchanged
  publisher.revoke("a.zone", "v=DKIM1; p=A");
  inner->next = {PublishResult::Outcome::Failed, {}, "transport", "no answer"};
  publisher.probe();
  for (auto outcome :
       {PublishResult::Outcome::Changed, PublishResult::Outcome::AlreadySo, PublishResult::Outcome::Conflict}) {
    inner->next = {outcome, {"v=DKIM1; p=OTHER"}, "", ""};
    publisher.remove("a.zone", "v=DKIM1; p=A");
  }
  CHECK(counter->failures("BADSIG") == 2);
  CHECK(counter->failures("transport") == 1);
  CHECK(counter->failures("") == 0);
  CHECK(counter->failures("unknown") == 0);

  dkr::PrometheusText text;
  counter->render(text);
  const std::string out = std::move(text).text();
  CHECK(out.find("# TYPE dkim_relay_dns_publish_failures_total counter") != std::string::npos);
  CHECK(out.find("dkim_relay_dns_publish_failures_total{rcode=\"BADSIG\"} 2") != std::string::npos);
  CHECK(out.find("dkim_relay_dns_publish_failures_total{rcode=\"transport\"} 1") != std::string::npos);
}
