// `dkim-relay dns status DOMAIN` and `dkim-relay dns publish-check`: what an operator (or the
// domain's owner on the phone) needs while setting up delegated selectors.
#include <boost/asio/io_context.hpp>
#include <iostream>
#include <optional>

#include "cli_args.hpp"
#include "commands.hpp"
#include "config/config.hpp"
#include "dns/delegation_status.hpp"
#include "dns/resolver.hpp"
#include "record_publisher_factory.hpp"
#include "secret_files.hpp"
#include "terminal_text.hpp"

namespace dkr::app {
namespace {

constexpr std::string_view kDnsUsage = R"(usage: dkim-relay dns status DOMAIN [--config FILE]
       dkim-relay dns publish-check [--config FILE]

status         the CNAMEs DOMAIN's owner publishes once, one per [dns.publish] selectors slot, and
               what DNS ([dns] resolver) shows for each: Pending validation, Connected or Error,
               with what was found. Exit status 0 when Connected, 3 when pending, 1 on Error.
publish-check  sends the [dns.publish] server an UPDATE signed with the TSIG key that changes
               nothing: says whether publishing works now, or the server's rcode.
)";

std::optional<config::Config> load_or_report(const CliArgs& cli) {
  const auto path = cli.value("config");
  const config::LoadResult loaded =
      path ? config::load_config(*path) : config::load_defaults(config::process_environment());
  for (const auto& warning : loaded.warnings) std::cerr << "warning: " << warning.to_string() << "\n";
  if (loaded.ok()) return loaded.config;
  for (const auto& error : loaded.errors) std::cerr << error.to_string() << "\n";
  std::cerr << "dkim-relay dns: " << loaded.errors.size() << " configuration problem(s)\n";
  return std::nullopt;
}

int status(const config::Config& cfg, const std::string& domain) {
  const auto& publish = cfg.dns_publish;
  if (publish.zone.empty()) {
    std::cerr << "dkim-relay dns status: [dns.publish] zone is not set: no delegation zone to point CNAMEs at\n";
    return 2;
  }
  std::cout << "The owner of " << terminal_safe(domain) << " publishes, once:\n";
  std::vector<dns::SlotExpectation> slots;
  for (const auto& selector : publish.selectors) {
    std::cout << "  " << terminal_safe(dns::owner_cname(selector, domain, publish.zone)) << "\n";
    slots.push_back({selector, std::nullopt});
  }
  boost::asio::io_context io;
  auto resolver = dns::Resolver::create(io, {cfg.dns.resolver ? cfg.dns.resolver->to_string() : "", cfg.dns.timeout});
  if (!resolver) {
    std::cerr << "dkim-relay dns status: " << resolver.error().message << "\n";
    return 1;
  }
  std::optional<dns::DelegationReport> report;
  dns::check_delegation(*resolver, domain, publish.zone, slots,
                        [&report](dns::DelegationReport r) { report = std::move(r); });
  while (!report && io.run_one() > 0) {
  }
  (*resolver)->shutdown();
  if (!report) return 1;
  std::cout << "\n" << terminal_safe(domain) << ": " << dns::to_string(report->status) << "\n";
  for (const auto& slot : report->slots) {
    std::cout << "  " << slot.selector << ": " << dns::to_string(slot.status) << ": " << terminal_safe(slot.detail)
              << "\n";
  }
  switch (report->status) {
    case dns::DelegationStatus::Connected:
      return 0;
    case dns::DelegationStatus::PendingValidation:
      return 3;
    case dns::DelegationStatus::Error:
      break;
  }
  return 1;
}

int publish_check(const config::Config& cfg) {
  if (auto problems = check_secret_files(cfg); !problems.empty()) {
    for (const auto& problem : problems) std::cerr << "dkim-relay dns publish-check: " << problem.message << "\n";
    return 2;
  }
  auto publisher = make_record_publisher(cfg);
  if (!publisher) {
    std::cerr << "dkim-relay dns publish-check: " << publisher.error().message << "\n";
    return 2;
  }
  if (!*publisher) {
    std::cerr << "dkim-relay dns publish-check: [dns.publish] type is \"none\": nothing publishes\n";
    return 2;
  }
  const dns::PublishResult result = (*publisher)->probe();
  std::cout << (result.ok() ? "ok: " : "failed (" + result.rcode + "): ") << terminal_safe(result.detail) << "\n";
  return result.ok() ? 0 : 1;
}

}  // namespace

int run_dns(Args args) {
  CliArgs cli(args, {"config"});
  const auto& words = cli.positional();
  const bool is_status = words.size() == 2 && words[0] == "status";
  const bool is_check = words.size() == 1 && words[0] == "publish-check";
  if (!cli.ok() || cli.flag("help") || (!is_status && !is_check)) {
    if (!cli.ok()) std::cerr << "dkim-relay dns: " << cli.error() << "\n";
    (cli.flag("help") ? std::cout : std::cerr) << kDnsUsage;
    return cli.flag("help") ? 0 : 2;
  }
  const auto cfg = load_or_report(cli);
  if (!cfg) return 2;
  return is_status ? status(*cfg, words[1]) : publish_check(*cfg);
}

}  // namespace dkr::app
