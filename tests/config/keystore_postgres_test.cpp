// [keystore] type = "postgres": what it needs, where the DSN may come from, and errors naming the key.
#include <doctest/doctest.h>

#include "test_support.hpp"

namespace dkr::config {
namespace {

using test::kNoEnvironment;
using test::TempDir;

bool has_error(const LoadResult& result, const std::string& key, int line, const std::string& part) {
  for (const auto& e : result.errors) {
    if (e.to_string().find(key) != std::string::npos && e.to_string().find(part) != std::string::npos &&
        (line == 0 || e.line == line))
      return true;
  }
  return false;
}

}  // namespace

TEST_CASE("postgres keystore: settings, defaults and the DSN from the environment") {
  const std::string text =
      "[keystore]\n"
      "type = \"postgres\"\n"
      "kek_file = \"/etc/dkim-relay/kek\"\n";
  auto missing = load_config_string(text, "fleet.toml", kNoEnvironment);
  CHECK(has_error(missing, "keystore.type", 2, "DKIM_RELAY_KEYSTORE_DSN"));

  const Environment env{{"DKIM_RELAY_KEYSTORE_DSN", "host=db dbname=dkim password=secret"}};
  auto from_env = load_config_string(text, "fleet.toml", env);
  REQUIRE(from_env.ok());
  CHECK(from_env.config.keystore.type == KeystoreType::Postgres);
  CHECK(from_env.config.keystore.dsn == "host=db dbname=dkim password=secret");
  CHECK(from_env.config.keystore.schema == "dkim_relay");
  CHECK(from_env.config.keystore.poll_interval == std::chrono::seconds(30));
  // The DSN may hold a password: never shown.
  const std::string rendered = render_effective_config(from_env.config);
  CHECK(rendered.find("secret") == std::string::npos);
}

TEST_CASE("postgres keystore: dsn_file is read; errors name the key and line") {
  TempDir dir;
  const auto dsn_file = dir.write("dsn", "postgresql://relay@db/dkim\n");
  auto ok = load_config_string("[keystore]\ntype = \"postgres\"\ndsn_file = \"" + dsn_file.string() +
                                   "\"\nkek_file = \"k\"\npoll_interval = \"5s\"\n",
                               "fleet.toml", kNoEnvironment);
  REQUIRE(ok.ok());
  CHECK(ok.config.keystore.dsn == "postgresql://relay@db/dkim");
  CHECK(ok.config.keystore.poll_interval == std::chrono::seconds(5));

  auto bad = load_config_string(
      "[keystore]\n"
      "type = \"postgresql\"\n"      // 2
      "schema = \"Bad-Schema\"\n"    // 3
      "poll_interval = \"10ms\"\n",  // 4
      "fleet.toml", kNoEnvironment);
  CHECK(has_error(bad, "keystore.type", 2, "\"directory\" or \"postgres\""));
  CHECK(has_error(bad, "keystore.schema", 3, "lowercase letters"));
  CHECK(has_error(bad, "keystore.poll_interval", 4, ""));

  auto no_kek =
      load_config_string("[keystore]\ntype = \"postgres\"\ndsn = \"host=db\"\n", "fleet.toml", kNoEnvironment);
  CHECK(has_error(no_kek, "keystore.type", 2, "kek_file"));
  auto both = load_config_string("[keystore]\ntype = \"postgres\"\ndsn = \"host=db\"\ndsn_file = \"" +
                                     dsn_file.string() + "\"\nkek_file = \"k\"\n",
                                 "fleet.toml", kNoEnvironment);
  CHECK(has_error(both, "keystore.dsn_file", 4, "both set"));
}

}  // namespace dkr::config
