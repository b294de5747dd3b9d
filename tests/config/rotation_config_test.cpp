// [rotation]: durations with s/m/h/d, and the policies that cannot work refused naming key and line.
#include "test_support.hpp"

using namespace dkr::config;
using namespace std::chrono_literals;
using test::kNoEnvironment;

TEST_CASE("[rotation] defaults: off, 90d / 7d / 30d / 72h") {
  const Config c = default_config();
  CHECK_FALSE(c.rotation.enabled);
  CHECK(c.rotation.interval == std::chrono::hours(90 * 24));
  CHECK(c.rotation.retire_after == std::chrono::hours(7 * 24));
  CHECK(c.rotation.delete_after == std::chrono::hours(30 * 24));
  CHECK(c.rotation.dns_timeout == 72h);
  CHECK_FALSE(c.rotation.allow_short_intervals);
}

TEST_CASE("[rotation] retire_after shorter than the DNS TTL plus the check interval is refused at its line") {
  auto result = load_config_string(
      "[dns]\ncheck_interval = \"60s\"\n\n[rotation]\nenabled = true\n"
      "retire_after = \"5m\"\n",
      "rot.toml", kNoEnvironment);
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].key == "rotation.retire_after");
  CHECK(result.errors[0].line == 6);
  CHECK(result.errors[0].message.find("DNS TTL (300s)") != std::string::npos);
  CHECK(result.errors[0].message.find("at least 360s") != std::string::npos);

  auto enough = load_config_string("[rotation]\nretire_after = \"6m\"\n", "rot.toml", kNoEnvironment);
  CHECK_MESSAGE(enough.ok(), test::all_errors(enough));
}

TEST_CASE("[rotation] interval under a day needs allow_short_intervals, which also drops the TTL floor") {
  auto short_interval = load_config_string("[rotation]\ninterval = \"12h\"\n", "rot.toml", kNoEnvironment);
  REQUIRE(short_interval.errors.size() == 1);
  CHECK(short_interval.errors[0].key == "rotation.interval");
  CHECK(short_interval.errors[0].line == 2);
  CHECK(short_interval.errors[0].message.find("allow_short_intervals") != std::string::npos);

  auto demo = load_config_string(
      "[dns]\ncheck_interval = \"1s\"\n[rotation]\nallow_short_intervals = true\n"
      "interval = \"8s\"\nretire_after = \"2s\"\ndelete_after = \"3s\"\ndns_timeout = \"30s\"\n",
      "rot.toml", kNoEnvironment);
  CHECK_MESSAGE(demo.ok(), test::all_errors(demo));
  CHECK(demo.config.rotation.interval == 8s);
  CHECK(demo.config.rotation.retire_after == 2s);
  // Still: at least one check interval.
  auto too_short = load_config_string(
      "[dns]\ncheck_interval = \"5s\"\n[rotation]\nallow_short_intervals = true\n"
      "retire_after = \"2s\"\n",
      "rot.toml", kNoEnvironment);
  REQUIRE(too_short.errors.size() == 1);
  CHECK(too_short.errors[0].key == "rotation.retire_after");
}
