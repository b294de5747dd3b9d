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

// Issue 24 item 9: admin_settings.hpp and upstream_settings.hpp repeat config defaults too, and had
// drifted (admin idle timeout 30 s against 60 s, upstream command timeout 120 s against 5 min).
TEST_CASE("the admin settings the app makes from a default config are AdminSettings{}") {
  auto loaded = config::load_config_string("", "empty.toml", config::Environment{});
  REQUIRE(loaded.ok());
  const admin::AdminSettings expected;
  const admin::AdminSettings actual = app::admin_settings(loaded.config, "");
  CHECK_MESSAGE(actual.listen == expected.listen, "admin.listen");
  CHECK_MESSAGE(actual.tls_cert == expected.tls_cert, "admin.tls_cert");
  CHECK_MESSAGE(actual.tls_key == expected.tls_key, "admin.tls_key");
  CHECK_MESSAGE(actual.dns_resolver == expected.dns_resolver, "admin.dns_resolver");
  CHECK_MESSAGE(actual.dns_timeout == expected.dns_timeout, "admin.dns_timeout");
  CHECK_MESSAGE(actual.dns_check_interval == expected.dns_check_interval, "admin.dns_check_interval");
  CHECK_MESSAGE(actual.per_domain_metrics == expected.per_domain_metrics, "admin.per_domain_metrics");
  CHECK_MESSAGE(actual.max_body_size == expected.max_body_size, "admin.max_body_size");
  CHECK_MESSAGE(actual.max_connections == expected.max_connections, "admin.max_connections");
  CHECK_MESSAGE(actual.read_timeout == expected.read_timeout, "admin.idle_timeout");
  CHECK_MESSAGE(actual.preauth_timeout == expected.preauth_timeout, "admin.preauth_timeout");
  CHECK_MESSAGE(actual.max_connections_per_address == expected.max_connections_per_address,
                "admin.max_connections_per_address");
  CHECK_MESSAGE(actual.loopback_reserved_connections == expected.loopback_reserved_connections,
                "admin.loopback_reserved_connections");
}

TEST_CASE("the upstream settings the app makes from a default config are SmtpUpstreamSettings{}") {
  auto loaded = config::load_config_string("[upstream]\ntype = \"smtp\"\n", "smtp.toml", config::Environment{});
  REQUIRE(loaded.ok());
  const upstream::SmtpUpstreamSettings expected;
  const upstream::SmtpUpstreamSettings actual = app::upstream_settings(loaded.config);
  CHECK_MESSAGE(actual.host == expected.host, "upstream.host");
  CHECK_MESSAGE(actual.port == expected.port, "upstream.port");
  CHECK_MESSAGE(actual.starttls == expected.starttls, "upstream.starttls (towards the default, loopback, host)");
  CHECK_MESSAGE(actual.ca_file == expected.ca_file, "upstream.ca_file");
  CHECK_MESSAGE(actual.verify_certificate == expected.verify_certificate, "verify_certificate");
  CHECK_MESSAGE(actual.verify_hostname == expected.verify_hostname, "upstream.verify_hostname");
  CHECK_MESSAGE(actual.username == expected.username, "upstream.username");
  CHECK_MESSAGE(actual.password == expected.password, "upstream.password");
  CHECK_MESSAGE(actual.helo_name == expected.helo_name, "relay.hostname (as HELO name)");
  CHECK_MESSAGE(actual.connect_timeout == expected.connect_timeout, "upstream.connect_timeout");
  CHECK_MESSAGE(actual.command_timeout == expected.command_timeout, "upstream.command_timeout");
  CHECK_MESSAGE(actual.pool_size == expected.pool_size, "upstream.pool_size");
}
