// The effective configuration as TOML, for `config show` and startup diagnostics.
#include "config/config.hpp"
#include "schema.hpp"

namespace dkr::config {

std::string render_effective_config(const Config& config, const RenderOptions& options) {
  std::string out =
      "# Effective dkim-relay configuration (defaults, file and DKIM_RELAY_* overrides combined).\n"
      "# Secrets are masked.\n";
  for (const auto section : detail::section_names()) {
    out += "\n[" + std::string(section) + "]\n";
    for (const auto& field : detail::fields()) {
      if (field.section != section) continue;
      out += std::string(field.key) + " = " + field.render(config, options) + "\n";
    }
  }
  for (const auto& user : config.auth_users) {
    out += "\n[[auth.users]]\nname = " + detail::toml_quote(user.name) +
           "\npassword_hash = " + detail::toml_quote(kMaskedSecret) + "\n";
  }
  return out;
}

}  // namespace dkr::config
