// The shipped example file: loads cleanly, documents every key, and shows the defaults.
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "test_support.hpp"

using namespace dkr::config;
using test::kNoEnvironment;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// "section.key" for each `key = value` line, with whether a comment line precedes it (directly,
// or through a run of keys that a comment line introduces).
std::map<std::string, bool> documented_keys(const std::string& text) {
  std::map<std::string, bool> keys;
  std::istringstream in(text);
  std::string line;
  std::string section;
  bool commented = false;
  while (std::getline(in, line)) {
    if (line.empty()) {
      commented = false;
    } else if (line[0] == '#') {
      commented = true;
    } else if (line[0] == '[') {
      section = line.substr(1, line.find(']') - 1);
      commented = false;
    } else if (auto eq = line.find(" = "); eq != std::string::npos) {
      keys[section + "." + line.substr(0, eq)] = commented;
    }
  }
  return keys;
}

}  // namespace

TEST_CASE("the example file loads without errors") {
  auto result = load_config(DKR_CONFIG_EXAMPLE_FILE, kNoEnvironment);
  CHECK_MESSAGE(result.ok(), test::all_errors(result));
}

TEST_CASE("the example file equals the defaults except upstream.type") {
  auto result = load_config(DKR_CONFIG_EXAMPLE_FILE, kNoEnvironment);
  REQUIRE_MESSAGE(result.ok(), test::all_errors(result));
  // Deliberate difference: the example shows a production setup relaying over SMTP, while the
  // embedded default writes to a directory so that an unconfigured first start sends nothing.
  Config expected = default_config();
  expected.upstream.type = UpstreamType::Smtp;
  CHECK(result.config == expected);
}

TEST_CASE("the example file shows every key, each with a comment") {
  const auto example = documented_keys(read_file(DKR_CONFIG_EXAMPLE_FILE));
  const auto rendered = documented_keys(render_effective_config(default_config()));
  REQUIRE(rendered.size() == 77);  // 32 relay + 13 upstream + 6 signing + 10 keystore + 14 admin + 2 log
  for (const auto& entry : rendered) {
    const std::string& key = entry.first;
    CAPTURE(key);
    auto it = example.find(key);
    REQUIRE(it != example.end());
    CHECK(it->second);
  }
  CHECK(example.size() == rendered.size());
}
