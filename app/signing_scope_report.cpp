#include "signing_scope_report.hpp"

#include <span>

namespace dkr::app {
namespace {

std::string joined(const std::vector<std::string>& items) {
  if (items.empty()) return "(nothing)";
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::string networks(const std::vector<config::Cidr>& ranges) {
  std::vector<std::string> texts;
  for (const auto& range : ranges) texts.push_back(range.to_string());
  return joined(texts);
}

bool covers(const config::Cidr& outer, const config::Cidr& inner) {
  const std::span<const std::uint8_t> bytes(inner.address.data(), inner.is_v4 ? 4 : 16);
  return outer.prefix_len <= inner.prefix_len && outer.contains(bytes, inner.is_v4);
}

// Ranges of allowed_networks no [[relay.clients]] rule covers whole: their clients sign unscoped.
std::vector<config::Cidr> unscoped_ranges(const config::Config& config) {
  std::vector<config::Cidr> out;
  if (config.relay.require_auth) return out;
  for (const auto& allowed : config.relay.allowed_networks) {
    bool covered = false;
    for (const auto& client : config.relay.clients) {
      for (const auto& range : client.networks) covered = covered || covers(range, allowed);
    }
    if (!covered) out.push_back(allowed);
  }
  return out;
}

}  // namespace

std::vector<std::string> signing_scope_lines(const config::Config& config) {
  std::vector<std::string> lines;
  for (const auto& user : config.auth_users) {
    lines.push_back("[[auth.users]] " + user.name + " (after AUTH): " + joined(user.domains));
  }
  for (std::size_t i = 0; i < config.relay.clients.size(); ++i) {
    const auto& client = config.relay.clients[i];
    lines.push_back("[[relay.clients]][" + std::to_string(i) + "] " + networks(client.networks) +
                    (config.relay.require_auth ? " (after AUTH only: relay.require_auth)" : " (without AUTH)") + ": " +
                    joined(client.domains));
  }
  if (config.relay.require_auth) {
    lines.push_back("relay.allowed_networks " + networks(config.relay.allowed_networks) +
                    ": nothing without AUTH (relay.require_auth = true)");
  } else {
    const auto open = unscoped_ranges(config);
    if (!open.empty()) {
      lines.push_back("relay.allowed_networks " + networks(open) +
                      " (without AUTH, matching no [[relay.clients]] rule): ANY domain in the keystore");
    }
  }
  return lines;
}

std::optional<std::string> unscoped_signing_warning(const config::Config& config) {
  bool scoped = !config.relay.clients.empty();
  for (const auto& user : config.auth_users) {
    for (const auto& pattern : user.domains) scoped = scoped || pattern != "*";
  }
  const auto open = unscoped_ranges(config);
  if (!scoped || open.empty()) return std::nullopt;
  const std::string ranges = networks(open);
  std::string quoted;
  for (const auto& range : open) quoted += (quoted.empty() ? "\"" : ", \"") + range.to_string() + "\"";
  return "relay.allowed_networks: a client from " + ranges +
         " that skips AUTH and matches no [[relay.clients]] rule may sign for ANY domain, while users or clients "
         "are scoped to domains. Make it explicit with [[relay.clients]] networks = [" +
         quoted + "] and domains = [\"*\"] (or the domains those clients may sign), or set relay.require_auth = true";
}

}  // namespace dkr::app
