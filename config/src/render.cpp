// The effective configuration as TOML, for `config show` and startup diagnostics.
#include "config/config.hpp"
#include "schema.hpp"

namespace dkr::config {

namespace {

std::string patterns(const DomainPatterns& domains) {
  std::string out = "[";
  for (const auto& d : domains) out += (out.size() > 1 ? ", " : "") + detail::toml_quote(d);
  return out + "]";
}

}  // namespace

std::string render_effective_config(const Config& config, const RenderOptions& options) {
  std::string out =
      "# Effective dkim-relay configuration (defaults, file and DKIM_RELAY_* overrides combined).\n"
      "# Secrets are masked.\n";
  for (const auto section : detail::section_names()) {
    out += "\n[" + std::string(section) + "]\n";
    for (const auto& field : detail::fields()) {
      if (field.section != section) continue;
      out += "# " + std::string(field.doc) + "\n";
      out += std::string(field.key) + " = " + field.render(config, options) + "\n";
    }
  }
  for (const auto& user : config.auth_users) {
    out += "\n[[auth.users]]\nname = " + detail::toml_quote(user.name) +
           "\npassword_hash = " + detail::toml_quote(kMaskedSecret) + "\ndomains = " + patterns(user.domains) + "\n";
  }
  for (const auto& client : config.relay.clients) {
    std::string networks = "[";
    for (const auto& n : client.networks)
      networks += (networks.size() > 1 ? ", " : "") + detail::toml_quote(n.to_string());
    out += "\n[[relay.clients]]\nnetworks = " + networks + "]\ndomains = " + patterns(client.domains) + "\n";
  }
  for (const auto& token : config.admin.tokens) {
    out += "\n[[admin.tokens]]\nname = " + detail::toml_quote(token.name) +
           "\ntoken_file = " + detail::toml_quote(token.token_file) + "\ndomains = " + patterns(token.domains) +
           "\nrole = " + detail::toml_quote(to_string(token.role)) + "\n";
  }
  return out;
}

}  // namespace dkr::config
