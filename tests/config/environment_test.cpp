// DKIM_RELAY_<SECTION>_<KEY> overrides.
#include "test_support.hpp"

using namespace dkr::config;
using test::error_for;

TEST_CASE("environment overrides win over the file and use the same parsing") {
  const Environment env{
      {"DKIM_RELAY_RELAY_MAX_MESSAGE_SIZE", "10MiB"},
      {"DKIM_RELAY_UPSTREAM_TYPE", "smtp"},
      {"DKIM_RELAY_RELAY_LISTEN", "0.0.0.0:2525, [::]:2525"},
      {"DKIM_RELAY_RELAY_MAX_RECIPIENTS", "20"},
      {"DKIM_RELAY_KEYSTORE_WATCH", "false"},
      {"DKIM_RELAY_DNS_CHECK_INTERVAL", "2m"},
      {"DKIM_RELAY_SIGNING_ALGORITHMS", "rsa-sha256,ed25519-sha256"},
      {"DKIM_RELAY_UPSTREAM_PORT", "2526"},
      {"PATH", "/usr/bin"},  // not ours: ignored
  };
  auto result = load_config_string("[relay]\nmax_message_size = \"1MiB\"\nmax_connections = 7\n", "f.toml", env);
  REQUIRE_MESSAGE(result.ok(), test::all_errors(result));
  const Config& c = result.config;
  CHECK(c.relay.max_message_size == 10ull * 1024 * 1024);
  CHECK(c.relay.max_connections == 7);  // from the file, not overridden
  CHECK(c.upstream.type == UpstreamType::Smtp);
  REQUIRE(c.relay.listen.size() == 2);
  CHECK(c.relay.listen[0] == Endpoint{"0.0.0.0", 2525});
  CHECK(c.relay.listen[1] == Endpoint{"::", 2525});
  CHECK(c.relay.max_recipients == 20);
  CHECK_FALSE(c.keystore.watch);
  CHECK(c.dns.check_interval == std::chrono::minutes(2));
  CHECK(c.signing.algorithms == std::vector{SigningAlgorithm::RsaSha256, SigningAlgorithm::Ed25519Sha256});
  CHECK(c.upstream.port == 2526);
}

TEST_CASE("environment overrides apply without a file") {
  auto result = load_defaults({{"DKIM_RELAY_LOG_LEVEL", "warn"}, {"DKIM_RELAY_SIGNING_HEADERS", ""}});
  REQUIRE_MESSAGE(result.ok(), test::all_errors(result));
  Config expected = default_config();
  expected.log.level = LogLevel::Warn;
  CHECK(result.config == expected);
}

TEST_CASE("bad environment values are errors naming the variable") {
  const Environment env{
      {"DKIM_RELAY_RELAY_MAX_MESSAGE_SIZE", "lots"},
      {"DKIM_RELAY_RELAY_MAX_MESAGE_SIZE", "1MiB"},
      {"DKIM_RELAY_RELAY_REQUIRE_AUTH", "yes"},
      {"DKIM_RELAY_UPSTREAM_PORT", "0"},
      {"DKIM_RELAY_RELAY_ALLOWED_NETWORKS", "10.0.0.0/8,bogus"},
      {"DKIM_RELAY_RELAY_IDLE_TIMEOUT", "300"},
      {"DKIM_RELAY_AUTH_USERS", "app"},
  };
  auto result = load_config_string("", "f.toml", env);
  INFO(test::all_errors(result));
  CHECK(result.errors.size() == 7);
  for (const auto& error : result.errors) {
    CHECK(error.file == "environment");
    CHECK(error.line == 0);
    CHECK(error.to_string().rfind("environment: DKIM_RELAY_", 0) == 0);
  }
  const ConfigError* size = error_for(result, "DKIM_RELAY_RELAY_MAX_MESSAGE_SIZE");
  REQUIRE(size != nullptr);
  CHECK(size->to_string() ==
        "environment: DKIM_RELAY_RELAY_MAX_MESSAGE_SIZE: expected a size like \"25MiB\" (units B, KB, MB, GB, "
        "KiB, MiB, GiB; case matters), got \"lots\"");
  const ConfigError* typo = error_for(result, "DKIM_RELAY_RELAY_MAX_MESAGE_SIZE");
  REQUIRE(typo != nullptr);
  CHECK(typo->message.find("did you mean \"DKIM_RELAY_RELAY_MAX_MESSAGE_SIZE\"") != std::string::npos);
  REQUIRE(error_for(result, "DKIM_RELAY_RELAY_ALLOWED_NETWORKS") != nullptr);
  CHECK(error_for(result, "DKIM_RELAY_RELAY_ALLOWED_NETWORKS")->message.find("\"bogus\"") != std::string::npos);
  REQUIRE(error_for(result, "DKIM_RELAY_RELAY_IDLE_TIMEOUT") != nullptr);
  CHECK(error_for(result, "DKIM_RELAY_RELAY_IDLE_TIMEOUT")->message.find("bare number") != std::string::npos);
  REQUIRE(error_for(result, "DKIM_RELAY_AUTH_USERS") != nullptr);
  CHECK(error_for(result, "DKIM_RELAY_AUTH_USERS")->message.find("only be set in the config file") !=
        std::string::npos);
  // The failed overrides left the defaults in place.
  CHECK(result.config.relay.max_message_size == default_config().relay.max_message_size);
}

TEST_CASE("the config path variable and the admin token variable are not settings") {
  auto result =
      load_config_string("[admin]\ntoken_env = \"DKIM_RELAY_ADMIN_TOKEN\"\n", "f.toml",
                         {{"DKIM_RELAY_CONFIG", "/etc/dkim-relay.toml"}, {"DKIM_RELAY_ADMIN_TOKEN", "secret-token"}});
  CHECK_MESSAGE(result.ok(), test::all_errors(result));

  // token_env set from the environment itself.
  auto from_env = load_defaults({{"DKIM_RELAY_ADMIN_TOKEN_ENV", "DKIM_RELAY_TOKEN"}, {"DKIM_RELAY_TOKEN", "t"}});
  CHECK_MESSAGE(from_env.ok(), test::all_errors(from_env));
  CHECK(from_env.config.admin.token_env == "DKIM_RELAY_TOKEN");

  // Without token_env pointing at it, the same variable is an unknown setting.
  auto unknown = load_defaults({{"DKIM_RELAY_ADMIN_TOKEN", "secret-token"}});
  REQUIRE(unknown.errors.size() == 1);
  CHECK(unknown.errors[0].key == "DKIM_RELAY_ADMIN_TOKEN");
  CHECK(unknown.errors[0].message.find("secret-token") == std::string::npos);
}

TEST_CASE("cross-key checks point at the variable that set the key") {
  auto result = load_defaults({{"DKIM_RELAY_RELAY_TLS_CERT", "/etc/cert.pem"}});
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].key == "DKIM_RELAY_RELAY_TLS_CERT");
  CHECK(result.errors[0].message.find("relay.tls_key") != std::string::npos);
}

TEST_CASE("process_environment keeps only DKIM_RELAY_ variables") {
  // The test runs single-threaded, so touching the process environment is safe here.
  ::setenv("DKIM_RELAY_CONFIG_TEST_PROBE", "1", 1);  // NOLINT(concurrency-mt-unsafe)
  const auto env = process_environment();
  ::unsetenv("DKIM_RELAY_CONFIG_TEST_PROBE");  // NOLINT(concurrency-mt-unsafe)
  CHECK(env.count("DKIM_RELAY_CONFIG_TEST_PROBE") == 1);
  for (const auto& [name, value] : env) CHECK(name.rfind("DKIM_RELAY_", 0) == 0);
}
