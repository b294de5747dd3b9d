// The TOML configuration loader on untrusted text, and the promise of render_effective_config:
// what it prints for a valid configuration loads back, and prints the same again.
//
// Input: a TOML document.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "fuzz_check.hpp"

namespace {

using dkr::fuzz::check;

std::string errors_of(const dkr::config::LoadResult& result) {
  std::string text;
  for (const auto& error : result.errors) text += error.to_string() + "\n";
  return text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view toml(reinterpret_cast<const char*>(data), size);
  // upstream.password_file is read at load: a fuzzed path into /dev, /proc or /sys (/dev/zero,
  // /dev/stdin) would test the machine, not the parser. A TOML escape could spell the slash.
  for (std::string_view special : {"/dev", "/proc", "/sys", "\\u002", "\\U0000002"}) {
    if (toml.find(special) != std::string_view::npos) return 0;
  }
  const dkr::config::Environment no_environment;
  const auto loaded = dkr::config::load_config_string(toml, "fuzz.toml", no_environment);
  for (const auto& error : loaded.errors) {
    check(!error.message.empty(), "config error without a message", toml);
    check(error.line >= 0 && error.column >= 0, "config error with a negative position", toml);
    (void)error.to_string();
  }
  if (!loaded.ok()) return 0;

  const std::string rendered = dkr::config::render_effective_config(loaded.config);
  const auto reloaded = dkr::config::load_config_string(rendered, "rendered.toml", no_environment);
  check(reloaded.ok(), "render_effective_config output does not load back",
        rendered + "\n--- errors:\n" + errors_of(reloaded));
  const std::string rendered_again = dkr::config::render_effective_config(reloaded.config);
  check(rendered_again == rendered, "render -> load -> render is not stable",
        rendered + "\n--- vs:\n" + rendered_again);
  return 0;
}
