// The shipped example file: loads cleanly and shows the defaults. That it documents every key of
// the settings table is checked in settings_table_test.cpp.
#include "test_support.hpp"

using namespace dkr::config;
using test::kNoEnvironment;

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
