// [dns] and [dns.publish]: the keys that moved out of [admin] still load (with a warning naming the
// new key), never silently against a new key set differently; publishing settings are checked.
#include "test_support.hpp"

using namespace dkr::config;
using test::error_for;
using test::kNoEnvironment;

namespace {

const ConfigError* warning_for(const LoadResult& result, const std::string& key) {
  for (const auto& warning : result.warnings) {
    if (warning.key == key) return &warning;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("[dns] keys and [dns.publish] load, in the file and from the environment") {
  auto result = load_config_string(R"([dns]
resolver = "127.0.0.1:5353"
timeout = "2s"
check_interval = "10s"

[dns.publish]
type = "rfc2136"
server = "127.0.0.1:5300"
zone = "dkim.esp.example"
tsig_key_file = "/etc/dkim-relay/tsig.key"
ttl = 60
selectors = ["s1", "s2", "s3"]
)",
                                   "dns.toml", Environment{{"DKIM_RELAY_DNS_PUBLISH_TTL", "120"}});
  REQUIRE_MESSAGE(result.ok(), test::all_errors(result));
  CHECK(result.warnings.empty());
  const Config& c = result.config;
  CHECK(c.dns.resolver == Endpoint{"127.0.0.1", 5353});
  CHECK(c.dns.timeout == std::chrono::seconds(2));
  CHECK(c.dns.check_interval == std::chrono::seconds(10));
  CHECK(c.dns_publish.type == DnsPublishType::Rfc2136);
  CHECK(c.dns_publish.server == Endpoint{"127.0.0.1", 5300});
  CHECK(c.dns_publish.zone == "dkim.esp.example");
  CHECK(c.dns_publish.tsig_key_file == "/etc/dkim-relay/tsig.key");
  CHECK(c.dns_publish.ttl == 120);  // the environment wins
  CHECK(c.dns_publish.selectors == std::vector<std::string>{"s1", "s2", "s3"});
  // And `config show` writes it back as a [dns.publish] table that loads again.
  auto again = load_config_string(render_effective_config(c), "shown.toml", kNoEnvironment);
  REQUIRE_MESSAGE(again.ok(), test::all_errors(again));
  CHECK(again.config == c);
}

TEST_CASE("the defaults: publishing off, slots dkr1 and dkr2, TTL 300") {
  const Config c = default_config();
  CHECK(c.dns_publish.type == DnsPublishType::None);
  CHECK(c.dns_publish.selectors == std::vector<std::string>{"dkr1", "dkr2"});
  CHECK(c.dns_publish.ttl == 300);
  CHECK_FALSE(c.dns_publish.server.has_value());
}

TEST_CASE("admin.dns_* still load into [dns], each with a warning naming its new key") {
  auto result = load_config_string(
      "[admin]\n"
      "dns_resolver = \"127.0.0.1:53\"\n"  // 2
      "dns_timeout = \"3s\"\n"             // 3
      "dns_check_interval = \"5s\"\n",     // 4
      "old.toml", Environment{});
  REQUIRE_MESSAGE(result.ok(), test::all_errors(result));
  CHECK(result.config.dns.resolver == Endpoint{"127.0.0.1", 53});
  CHECK(result.config.dns.timeout == std::chrono::seconds(3));
  CHECK(result.config.dns.check_interval == std::chrono::seconds(5));
  REQUIRE(result.warnings.size() == 3);
  const ConfigError* timeout = warning_for(result, "admin.dns_timeout");
  REQUIRE(timeout != nullptr);
  CHECK(timeout->line == 3);
  CHECK(timeout->message.find("dns.timeout") != std::string::npos);
  CHECK(timeout->to_string().find("old.toml:3") != std::string::npos);

  auto env = load_config_string("", "empty.toml", Environment{{"DKIM_RELAY_ADMIN_DNS_TIMEOUT", "4s"}});
  REQUIRE_MESSAGE(env.ok(), test::all_errors(env));
  CHECK(env.config.dns.timeout == std::chrono::seconds(4));
  REQUIRE(env.warnings.size() == 1);
  CHECK(env.warnings[0].message.find("dns.timeout") != std::string::npos);
}

TEST_CASE("an old key set differently from its new key is an error naming both, with their lines") {
  auto result = load_config_string(
      "[admin]\n"
      "dns_timeout = \"3s\"\n"  // 2
      "[dns]\n"
      "timeout = \"7s\"\n",  // 4
      "both.toml", kNoEnvironment);
  REQUIRE(result.errors.size() == 1);
  const ConfigError& error = result.errors[0];
  CHECK(error.key == "admin.dns_timeout");
  CHECK(error.line == 2);
  CHECK(error.message.find("dns.timeout") != std::string::npos);
  CHECK(error.message.find("line 4") != std::string::npos);
  CHECK(error.message.find("line 2") != std::string::npos);

  // The same value twice is only redundant.
  auto same =
      load_config_string("[admin]\ndns_timeout = \"7s\"\n[dns]\ntimeout = \"7000ms\"\n", "same.toml", kNoEnvironment);
  REQUIRE_MESSAGE(same.ok(), test::all_errors(same));
  CHECK(same.config.dns.timeout == std::chrono::seconds(7));
  CHECK(same.warnings.size() == 1);
}

TEST_CASE("[dns.publish] mistakes name the key and line") {
  auto result = load_config_string(
      "[dns.publish]\n"
      "type = \"nsupdate\"\n"               // 2
      "server = \"ns1.example\"\n"          // 3: an address, not a name
      "zone = \"not a zone\"\n"             // 4
      "ttl = -1\n"                          // 5
      "selectors = [\"dkr1\", \"dkr1\"]\n"  // 6
      "tsig = \"x\"\n",                     // 7
      "publish.toml", kNoEnvironment);
  INFO(test::all_errors(result));
  const auto at = [&](const std::string& key, int line, const std::string& part) {
    CAPTURE(key);
    const ConfigError* error = error_for(result, key);
    REQUIRE(error != nullptr);
    CHECK(error->line == line);
    CHECK(error->message.find(part) != std::string::npos);
  };
  at("dns.publish.type", 2, "\"none\" or \"rfc2136\"");
  at("dns.publish.server", 3, "expected an address");
  at("dns.publish.zone", 4, "domain");
  at("dns.publish.ttl", 5, "");
  at("dns.publish.selectors", 6, "twice");
  at("dns.publish.tsig", 7, "unknown key");

  auto bad_label = load_config_string("[dns.publish]\nselectors = [\"dkr_1\", \"-x\"]\n", "l.toml", kNoEnvironment);
  REQUIRE(error_for(bad_label, "dns.publish.selectors") != nullptr);
}

TEST_CASE("rfc2136 publishing needs a server, a zone, a TSIG key and two slots") {
  auto result = load_config_string("[dns.publish]\ntype = \"rfc2136\"\nselectors = [\"only\"]\n", "incomplete.toml",
                                   kNoEnvironment);
  const std::string all = test::all_errors(result);
  CHECK(all.find("dns.publish.server") != std::string::npos);
  CHECK(all.find("dns.publish.zone") != std::string::npos);
  CHECK(all.find("dns.publish.tsig_key_file") != std::string::npos);
  const ConfigError* selectors = error_for(result, "dns.publish.selectors");
  REQUIRE(selectors != nullptr);
  CHECK(selectors->line == 3);
  const ConfigError* type = error_for(result, "dns.publish.type");
  REQUIRE(type != nullptr);
  CHECK(type->line == 2);
}
