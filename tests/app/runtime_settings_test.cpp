// The relay's own defaults (relay_settings.hpp, for tests and embedders that build RelaySettings{})
// against the ones the binary actually runs with: config's defaults (settings_table.hpp) mapped by
// app/runtime_settings.cpp. The two sets are written twice; this keeps them equal.
#include <doctest/doctest.h>

#include "config/config.hpp"
#include "config/settings_table.hpp"
#include "runtime_settings.hpp"

using namespace dkr;

namespace {

relay::RelaySettings from_empty_config_file() {
  auto loaded = config::load_config_string("", "empty.toml", config::Environment{});
  REQUIRE(loaded.ok());
  auto settings = app::relay_settings(loaded.config);
  REQUIRE(settings.ok());
  return *settings;
}

// Key by key, so that a failure names the setting that drifted. A template, so that `requires`
// can skip the [relay] keys RelaySettings holds under another name.
template <class Settings>
void check_each_relay_key(const Settings& actual, const Settings& expected) {
#define DKR_CHECK_SAME_DEFAULT(section, member, key, ...)       \
  if constexpr (requires { actual.member == expected.member; }) \
    CHECK_MESSAGE(actual.member == expected.member, "relay." key);
  DKR_RELAY_SETTINGS(DKR_CHECK_SAME_DEFAULT)
#undef DKR_CHECK_SAME_DEFAULT
}

}  // namespace

TEST_CASE("the relay settings the app makes from a default config are RelaySettings{}") {
  const relay::RelaySettings expected;
  const relay::RelaySettings actual = from_empty_config_file();
  check_each_relay_key(actual, expected);
  CHECK(actual.unsigned_policy == expected.unsigned_policy);
  CHECK(actual.signing == expected.signing);
  // Then the whole value, which also covers fields added later without a config key.
  CHECK(actual == expected);
}

TEST_CASE("a default Config maps to the same relay settings as an empty config file") {
  auto settings = app::relay_settings(config::Config{});
  REQUIRE(settings.ok());
  CHECK(*settings == relay::RelaySettings{});
}
