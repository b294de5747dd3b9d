// render_effective_config: valid TOML that loads back to the same configuration, secrets masked.
#include "test_support.hpp"

using namespace dkr::config;
using test::kNoEnvironment;

namespace {

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("rendering the defaults prints the documented values and loads back") {
  const std::string text = render_effective_config(default_config());
  CHECK(has_line(text, "[relay]"));
  CHECK(has_line(text, "listen = [\"127.0.0.1:2525\"]"));
  CHECK(has_line(text, "max_message_size = \"25MiB\""));
  CHECK(has_line(text, "allowed_networks = [\"127.0.0.0/8\", \"::1/128\"]"));
  CHECK(has_line(text, "unsigned = \"tempfail\""));
  CHECK(has_line(text, "data_timeout = \"5m\""));
  CHECK(has_line(text, "type = \"directory\""));
  CHECK(has_line(text, "canonicalization = \"relaxed/relaxed\""));
  CHECK(has_line(text, "headers = []"));
  CHECK(has_line(text, "resolver = \"\""));
  CHECK(has_line(text, "max_body_size = \"64KiB\""));
  CHECK(has_line(text, "level = \"info\""));

  auto loaded = load_config_string(text, "rendered.toml", kNoEnvironment);
  REQUIRE_MESSAGE(loaded.ok(), (test::all_errors(loaded) + text));
  CHECK(loaded.config == default_config());
}

TEST_CASE("a rendered non-default configuration loads back equal, apart from masked secrets") {
  Config config = default_config();
  config.relay.listen = {{"0.0.0.0", 2525}, {"::", 2525}};
  config.relay.hostname = "relay.example.net";
  config.relay.max_message_size = 10'000'000;
  config.relay.allowed_networks = {*parse_cidr("10.0.0.0/8"), *parse_cidr("fd00::/8")};
  config.relay.require_auth = true;
  config.relay.allow_auth_without_tls = true;
  config.relay.unsigned_policy = UnsignedPolicy::Reject;
  config.relay.bare_line_endings = BareLineEndings::Normalize;
  config.relay.data_timeout = std::chrono::milliseconds(1500);
  config.relay.spill_directory = "/var/tmp/dkim \"relay\"";  // needs escaping
  config.relay.threads = 3;
  config.upstream.type = UpstreamType::Smtp;
  config.upstream.port = 587;
  config.upstream.starttls = StartTls::None;
  config.upstream.username = "relay";
  config.upstream.password = "hunter2";
  config.signing.algorithms = {SigningAlgorithm::Ed25519Sha256};
  config.signing.canonicalization = {Canon::Simple, Canon::Simple};
  config.signing.headers = {"From", "Subject"};
  config.signing.expire_after = std::chrono::hours(48);
  config.keystore.demo_domain = "";
  config.dns.resolver = Endpoint{"::1", 5353};
  config.admin.per_domain_metrics = true;
  config.log.format = LogFormat::Json;
  config.auth_users = {{"app", "$pbkdf2-sha256$600000$c2FsdA$aGFzaGhhc2g", {"example.com", "*.example.com"}},
                       {"other", "$pbkdf2-sha256$1$YQ$Yg", {"*"}}};
  config.relay.clients = {{{*parse_cidr("10.1.0.0/16")}, {"shop.example"}}};
  config.admin.tokens = {
      {"shop-ops", "/run/secrets/shop.token", {"shop.example", "*.shop.example"}, AdminRole::Rotate}};

  const std::string text = render_effective_config(config);
  CHECK(text.find("hunter2") == std::string::npos);
  CHECK(text.find("aGFzaGhhc2g") == std::string::npos);
  CHECK(has_line(text, "password = \"********\""));
  CHECK(has_line(text, "password_hash = \"********\""));
  CHECK(has_line(text, "data_timeout = \"1500ms\""));
  CHECK(has_line(text, "resolver = \"[::1]:5353\""));
  CHECK(has_line(text, "spill_directory = \"/var/tmp/dkim \\\"relay\\\"\""));

  auto loaded = load_config_string(text, "rendered.toml", kNoEnvironment);
  REQUIRE_MESSAGE(loaded.ok(), (test::all_errors(loaded) + text));
  Config expected = config;
  expected.upstream.password = std::string(kMaskedSecret);
  for (auto& user : expected.auth_users) user.password_hash = std::string(kMaskedSecret);
  CHECK(loaded.config == expected);
}

TEST_CASE("a password read from a file is not rendered; the file name is") {
  test::TempDir dir;
  auto secret = dir.write("pass", "from-file-secret\n");
  auto result =
      load_config_string("[upstream]\npassword_file = \"" + secret.string() + "\"\n", "p.toml", kNoEnvironment);
  REQUIRE_MESSAGE(result.ok(), test::all_errors(result));
  const std::string text = render_effective_config(result.config);
  CHECK(text.find("from-file-secret") == std::string::npos);
  CHECK(has_line(text, "password_file = \"" + secret.string() + "\""));
  CHECK(has_line(text, "password = \"\""));
  auto loaded = load_config_string(text, "rendered.toml", kNoEnvironment);
  REQUIRE_MESSAGE(loaded.ok(), test::all_errors(loaded));
  CHECK(loaded.config == result.config);
}

TEST_CASE("empty header lists render as the library default lists given") {
  RenderOptions options;
  options.default_signed_headers = {"From", "To", "Subject"};
  options.default_oversigned_headers = {"From"};
  const std::string text = render_effective_config(default_config(), options);
  CHECK(has_line(text, "headers = [\"From\", \"To\", \"Subject\"]"));
  CHECK(has_line(text, "oversign = [\"From\"]"));
  auto loaded = load_config_string(text, "rendered.toml", kNoEnvironment);
  REQUIRE_MESSAGE(loaded.ok(), test::all_errors(loaded));
  CHECK(loaded.config.signing.headers == options.default_signed_headers);
}
