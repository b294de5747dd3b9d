// The embedded defaults, checked against the values written in the specification.
#include "test_support.hpp"

using namespace dkr::config;
using namespace std::chrono_literals;
using test::kNoEnvironment;

TEST_CASE("default_config holds the documented defaults") {
  const Config c = default_config();
  REQUIRE(c.relay.listen.size() == 1);
  CHECK(c.relay.listen[0].host == "127.0.0.1");
  CHECK(c.relay.listen[0].port == 2525);
  CHECK(c.relay.hostname.empty());
  CHECK(c.relay.max_message_size == 25ull * 1024 * 1024);
  REQUIRE(c.relay.allowed_networks.size() == 2);
  CHECK(c.relay.allowed_networks[0].to_string() == "127.0.0.0/8");
  CHECK(c.relay.allowed_networks[1].to_string() == "::1/128");
  CHECK(c.relay.tls_cert.empty());
  CHECK(c.relay.tls_key.empty());
  CHECK_FALSE(c.relay.require_auth);
  CHECK_FALSE(c.relay.allow_auth_without_tls);
  CHECK(c.relay.unsigned_policy == UnsignedPolicy::Tempfail);
  CHECK(c.relay.bare_line_endings == BareLineEndings::Reject);
  CHECK(c.relay.max_recipients == 100);
  CHECK(c.relay.max_messages_per_connection == 100);
  CHECK(c.relay.max_connections == 1000);
  CHECK(c.relay.max_connections_per_ip == 50);
  CHECK(c.relay.max_command_line == 512);
  CHECK(c.relay.max_text_line == 1000);
  CHECK(c.relay.max_bad_commands == 10);
  CHECK(c.relay.command_timeout == 5min);
  CHECK(c.relay.data_timeout == 5min);  // RFC 5321's DATA-block minimum is 3
  CHECK(c.relay.stress_data_timeout == 10s);
  CHECK_FALSE(c.relay.per_ip_limit_applies_to_loopback);
  CHECK(c.relay.idle_timeout == 5min);
  CHECK(c.relay.spill_threshold == 1024ull * 1024);
  CHECK(c.relay.spill_directory.empty());
  CHECK(c.relay.threads == 0);
  CHECK(c.relay.shutdown_grace == 30s);

  CHECK(c.upstream.type == UpstreamType::Directory);
  CHECK(c.upstream.host == "127.0.0.1");
  CHECK(c.upstream.port == 25);
  CHECK(c.upstream.starttls == StartTls::Opportunistic);
  CHECK(c.upstream.ca_file.empty());
  CHECK(c.upstream.verify_hostname);
  CHECK(c.upstream.username.empty());
  CHECK(c.upstream.password_file.empty());
  CHECK(c.upstream.password.empty());
  CHECK(c.upstream.directory == "./data/outbox");
  CHECK(c.upstream.connect_timeout == 30s);
  CHECK(c.upstream.command_timeout == 5min);
  CHECK(c.upstream.pool_size == 4);

  CHECK(c.signing.algorithms == std::vector{SigningAlgorithm::RsaSha256});
  CHECK(c.signing.canonicalization.header == Canon::Relaxed);
  CHECK(c.signing.canonicalization.body == Canon::Relaxed);
  CHECK(c.signing.headers.empty());   // the signer's default list
  CHECK(c.signing.oversign.empty());  // the signer's default list
  CHECK(c.signing.expire_after == 0s);
  CHECK_FALSE(c.signing.allow_weak_rsa);

  CHECK(c.keystore.path == "./data/keys");
  CHECK(c.keystore.selector_pattern == "s%Y%m{seq}");
  CHECK(c.keystore.watch);
  CHECK(c.keystore.demo_domain == "example.com");

  CHECK(c.admin.enabled);
  CHECK(c.admin.listen == Endpoint{"127.0.0.1", 8025});
  CHECK(c.admin.token_file == "./data/admin.token");
  CHECK(c.admin.token_env.empty());
  CHECK(c.admin.tls_cert.empty());
  CHECK(c.admin.tls_key.empty());
  CHECK_FALSE(c.dns.resolver.has_value());
  CHECK(c.dns.timeout == 5s);
  CHECK(c.dns.check_interval == 60s);
  CHECK_FALSE(c.admin.per_domain_metrics);
  CHECK(c.admin.max_body_size == 64ull * 1024);

  CHECK(c.log.level == LogLevel::Info);
  CHECK(c.log.format == LogFormat::Text);
  CHECK(c.auth_users.empty());
}

TEST_CASE("no file, an empty file and an empty environment all give the defaults") {
  auto none = load_defaults(kNoEnvironment);
  CHECK_MESSAGE(none.ok(), test::all_errors(none));
  CHECK(none.config == default_config());

  auto empty = load_config_string("", "empty.toml", kNoEnvironment);
  CHECK_MESSAGE(empty.ok(), test::all_errors(empty));
  CHECK(empty.config == default_config());

  auto sections_only = load_config_string("[relay]\n[upstream]\n[signing]\n[keystore]\n[admin]\n[log]\n",
                                          "sections.toml", kNoEnvironment);
  CHECK_MESSAGE(sections_only.ok(), test::all_errors(sections_only));
  CHECK(sections_only.config == default_config());
}

TEST_CASE("file values replace defaults and keep the rest") {
  auto result = load_config_string(R"(
[relay]
listen = ["0.0.0.0:2525", "[::]:2525"]
max_message_size = "10MB"
allowed_networks = ["10.0.0.0/8"]
unsigned = "pass"
data_timeout = "3m"
spill_threshold = 0

[upstream]
type = "smtp"
host = "mx.internal"
port = 587
starttls = "required"

[signing]
algorithms = ["ed25519-sha256", "rsa-sha256"]
canonicalization = "simple/relaxed"
headers = ["From", "To"]
expire_after = "7d"

[dns]
resolver = "9.9.9.9"

[log]
level = "debug"
format = "json"

[[auth.users]]
name = "app"
password_hash = "$pbkdf2-sha256$600000$c2FsdA$aGFzaGhhc2hoYXNoaGFzaA"
domains = ["*"]
)",
                                   "custom.toml", kNoEnvironment);
  REQUIRE_MESSAGE(result.ok(), test::all_errors(result));
  const Config& c = result.config;
  REQUIRE(c.relay.listen.size() == 2);
  CHECK(c.relay.listen[0] == Endpoint{"0.0.0.0", 2525});
  CHECK(c.relay.listen[1] == Endpoint{"::", 2525});
  CHECK(c.relay.max_message_size == 10'000'000);
  REQUIRE(c.relay.allowed_networks.size() == 1);
  CHECK(c.relay.allowed_networks[0].to_string() == "10.0.0.0/8");
  CHECK(c.relay.unsigned_policy == UnsignedPolicy::Pass);
  CHECK(c.relay.data_timeout == 3min);
  CHECK(c.relay.spill_threshold == 0);
  CHECK(c.relay.max_recipients == 100);  // untouched
  CHECK(c.upstream.type == UpstreamType::Smtp);
  CHECK(c.upstream.host == "mx.internal");
  CHECK(c.upstream.port == 587);
  CHECK(c.upstream.starttls == StartTls::Required);
  CHECK(c.signing.algorithms == std::vector{SigningAlgorithm::Ed25519Sha256, SigningAlgorithm::RsaSha256});
  CHECK(c.signing.canonicalization == Canonicalization{Canon::Simple, Canon::Relaxed});
  CHECK(c.signing.headers == std::vector<std::string>{"From", "To"});
  CHECK(c.signing.expire_after == std::chrono::hours(24 * 7));
  CHECK(c.dns.resolver == Endpoint{"9.9.9.9", 53});
  CHECK(c.log.level == LogLevel::Debug);
  CHECK(c.log.format == LogFormat::Json);
  REQUIRE(c.auth_users.size() == 1);
  CHECK(c.auth_users[0].name == "app");
  CHECK(c.auth_users[0].password_hash == "$pbkdf2-sha256$600000$c2FsdA$aGFzaGhhc2hoYXNoaGFzaA");
}

TEST_CASE("a single canonicalization word means <word>/simple as in the c= tag") {
  auto result = load_config_string("[signing]\ncanonicalization = \"relaxed\"\n", "c.toml", kNoEnvironment);
  REQUIRE_MESSAGE(result.ok(), test::all_errors(result));
  CHECK(result.config.signing.canonicalization == Canonicalization{Canon::Relaxed, Canon::Simple});
}

TEST_CASE("load_config reads a file and relative paths stay as written") {
  test::TempDir dir;
  auto file = dir.write("dkim-relay.toml", "[keystore]\npath = \"keys\"\n");
  auto result = load_config(file, kNoEnvironment);
  REQUIRE_MESSAGE(result.ok(), test::all_errors(result));
  CHECK(result.config.keystore.path == "keys");
}

TEST_CASE("upstream.password_file is read at load, without the final newline") {
  test::TempDir dir;
  auto secret = dir.write("upstream.pass", "s3cret pass\r\n");
  auto result =
      load_config_string("[upstream]\npassword_file = \"" + secret.string() + "\"\n", "p.toml", kNoEnvironment);
  REQUIRE_MESSAGE(result.ok(), test::all_errors(result));
  CHECK(result.config.upstream.password == "s3cret pass");
  CHECK(result.config.upstream.password_file == secret.string());
}
