// Issue 24 item 8 and item 5: STARTTLS to a remote upstream is required unless the operator says
// otherwise (and is then warned); an inline password in a config file others can read is a warning.
#include <sys/stat.h>

#include "test_support.hpp"

namespace dkr::config::test {
namespace {

LoadResult load_smtp(const std::string& upstream_lines) {
  return load_config_string("[upstream]\ntype = \"smtp\"\n" + upstream_lines, "test.toml", Environment{});
}

bool warns_about(const LoadResult& result, std::string_view key) {
  return std::any_of(result.warnings.begin(), result.warnings.end(),
                     [&](const ConfigError& w) { return w.key == key; });
}

}  // namespace

TEST_CASE("upstream STARTTLS: required by default towards a host that is not loopback") {
  for (const char* host : {"mx.example.net", "192.0.2.25", "2001:db8::25", "10.0.0.1"}) {
    CAPTURE(host);
    const auto result = load_smtp(std::string("host = \"") + host + "\"\n");
    REQUIRE(result.ok());
    CHECK(result.config.upstream.starttls == StartTls::Required);
    CHECK(result.config.upstream.verify_hostname);
    CHECK(result.warnings.empty());
  }
}

TEST_CASE("upstream STARTTLS: loopback upstreams and the directory upstream keep the old default") {
  for (const char* host : {"127.0.0.1", "127.3.4.5", "::1", "localhost", "::ffff:127.0.0.1"}) {
    CAPTURE(host);
    const auto result = load_smtp(std::string("host = \"") + host + "\"\n");
    REQUIRE(result.ok());
    CHECK(result.config.upstream.starttls == StartTls::Opportunistic);
    CHECK(result.warnings.empty());
  }
  const auto directory = load_config_string("[upstream]\nhost = \"mx.example.net\"\n", "test.toml", Environment{});
  REQUIRE(directory.ok());
  CHECK(directory.config.upstream.type == UpstreamType::Directory);
  CHECK(directory.warnings.empty());
}

TEST_CASE("upstream STARTTLS: an explicit opportunistic towards a remote host is kept, with a warning naming the key") {
  const auto result = load_smtp("host = \"mx.example.net\"\nstarttls = \"opportunistic\"\n");
  REQUIRE(result.ok());
  CHECK(result.config.upstream.starttls == StartTls::Opportunistic);
  REQUIRE(warns_about(result, "upstream.starttls"));
  CHECK(result.warnings[0].line == 4);
  CHECK(result.warnings[0].to_string().find("set starttls = \"required\"") != std::string::npos);
  // The environment can set it too, and is then what the warning names.
  const auto env = load_config_string("[upstream]\ntype = \"smtp\"\nhost = \"mx.example.net\"\n", "test.toml",
                                      Environment{{"DKIM_RELAY_UPSTREAM_STARTTLS", "none"}});
  REQUIRE(env.ok());
  CHECK(env.config.upstream.starttls == StartTls::None);
  CHECK(warns_about(env, "upstream.starttls"));
  // Explicitly required: nothing to say.
  CHECK(load_smtp("host = \"mx.example.net\"\nstarttls = \"required\"\n").warnings.empty());
}

TEST_CASE("an inline password in a config file group or others can read is a warning naming the key") {
  TempDir dir;
  const auto file = dir.write("relay.toml",
                              "[upstream]\ntype = \"smtp\"\nhost = \"127.0.0.1\"\nusername = \"relay\"\n"
                              "password = \"hunter2-upstream\"\n[keystore]\ntype = \"postgres\"\n"
                              "dsn = \"postgresql://relay:hunter2-db@db.internal/keys\"\nkek_file = \"/k\"\n");
  ::chmod(file.c_str(), 0644);
  auto result = load_config(file, Environment{});
  REQUIRE_MESSAGE(result.ok(), (result.ok() ? "" : result.errors[0].to_string()));
  CHECK(warns_about(result, "upstream.password"));
  CHECK(warns_about(result, "keystore.dsn"));
  for (const auto& warning : result.warnings) {
    CHECK(warning.to_string().find("hunter2") == std::string::npos);  // the warning never repeats the secret
    CHECK(warning.to_string().find("0644") != std::string::npos);
  }
  ::chmod(file.c_str(), 0600);
  result = load_config(file, Environment{});
  REQUIRE(result.ok());
  CHECK(result.warnings.empty());
}

}  // namespace dkr::config::test
