#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <limits>

#include "common/prometheus_text.hpp"

using dkr::PrometheusText;

// Expected texts are written out by hand from the exposition format 0.0.4 rules
// (https://prometheus.io/docs/instrumenting/exposition_formats/), not taken from the writer.

TEST_CASE("a family is announced by HELP then TYPE, and samples follow with or without labels") {
  PrometheusText out;
  out.family("jobs_total", "counter", "Jobs done, by result.");
  out.sample("jobs_total", {{"result", "ok"}, {"queue", "fast"}}, 42);
  out.sample("jobs_total", {}, std::numeric_limits<std::uint64_t>::max());
  out.family("workers", "gauge", "Workers running.");
  out.sample_signed("workers", {}, -3);
  CHECK(out.text() ==
        "# HELP jobs_total Jobs done, by result.\n"
        "# TYPE jobs_total counter\n"
        "jobs_total{result=\"ok\",queue=\"fast\"} 42\n"
        "jobs_total 18446744073709551615\n"
        "# HELP workers Workers running.\n"
        "# TYPE workers gauge\n"
        "workers -3\n");
}

TEST_CASE("label values escape backslash, double quote and line feed, and nothing else") {
  CHECK(dkr::prometheus_label_value("a\\b\"c\nd") == "a\\\\b\\\"c\\nd");
  CHECK(dkr::prometheus_label_value("tab\there, {braces}, = and ,") == "tab\there, {braces}, = and ,");
  PrometheusText out;
  out.sample("domain_keys", {{"domain", "b\"x.example"}}, 1);
  CHECK(out.text() == "domain_keys{domain=\"b\\\"x.example\"} 1\n");
}

TEST_CASE("numbers are plain decimals with the fewest digits") {
  CHECK(dkr::prometheus_number(0.0005) == "0.0005");
  CHECK(dkr::prometheus_number(2.5) == "2.5");
  CHECK(dkr::prometheus_number(10) == "10");
  CHECK(dkr::prometheus_number(0) == "0");
  CHECK(dkr::prometheus_number(20.0023) == "20.0023");
  CHECK(dkr::prometheus_number(1e-7) == "0.0000001");  // never 1e-07: no exponent
}

TEST_CASE("a histogram: cumulative buckets with le labels, +Inf last, then _sum and _count") {
  static constexpr std::array<double, 3> bounds{0.001, 0.5, 2};
  const std::array<std::uint64_t, 4> cumulative{1, 1, 3, 4};
  PrometheusText out;
  out.histogram("op_seconds", "Time per operation.", bounds, cumulative, 7.25);
  CHECK(out.text() ==
        "# HELP op_seconds Time per operation.\n"
        "# TYPE op_seconds histogram\n"
        "op_seconds_bucket{le=\"0.001\"} 1\n"
        "op_seconds_bucket{le=\"0.5\"} 1\n"
        "op_seconds_bucket{le=\"2\"} 3\n"
        "op_seconds_bucket{le=\"+Inf\"} 4\n"
        "op_seconds_sum 7.25\n"
        "op_seconds_count 4\n");
}

TEST_CASE("moving the text out leaves an independent string") {
  PrometheusText out;
  out.sample("up", {}, 1);
  const std::string text = std::move(out).text();
  CHECK(text == "up 1\n");
}

TEST_CASE("gauge values that are not whole numbers are written as plain decimals") {
  PrometheusText out;
  out.sample_double("process_cpu_seconds_total", {}, 1.25);
  out.sample_double("not_after_seconds", {{"listener", "smtp"}}, 1798761600);
  CHECK(out.text() ==
        "process_cpu_seconds_total 1.25\n"
        "not_after_seconds{listener=\"smtp\"} 1798761600\n");
}
