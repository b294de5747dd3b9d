// `dkim-relay keys ...`: manage the signing keys of the keystore (--keystore DIR or --config FILE).
#include <algorithm>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <map>

#include "cli_args.hpp"
#include "commands.hpp"
#include "core_dumps.hpp"
#include "keystore/storage.hpp"
#include "keystore/dns_record.hpp"
#include "keystore/key_envelope.hpp"
#include "key_transfer_command.hpp"
#include "config/config.hpp"
#include "dns/delegation_status.hpp"
#include "lifecycle/delegated_slots.hpp"
#include "lifecycle/domain_policy.hpp"
#include "lifecycle/key_lifecycle.hpp"
#include "runtime_settings.hpp"
#include "keystore_backend.hpp"
#include "record_publisher_factory.hpp"
#include "terminal_text.hpp"

namespace dkr::app {
namespace {

constexpr std::string_view kDefaultKeystore = "./data/keys";

constexpr std::string_view kKeysUsage = R"(usage: dkim-relay keys [--keystore DIR | --config FILE] COMMAND ...
commands:
  add DOMAIN [--algorithm rsa-sha256|ed25519-sha256] [--bits N] [--selector S]
  add DOMAIN --delegated [--algorithm A] [--bits N]
                                             delegated selectors (needs --config with [dns.publish]
                                             type = "rfc2136"): prints the CNAMEs the owner publishes
                                             once; `serve` publishes the key behind them and activates
                                             it once DNS serves it (until then mail follows
                                             relay.unsigned)
  list
  rotate DOMAIN [--algorithm A] [--bits N] [--selector S] [--activate now|later] [--emergency]
                                             a new key for each algorithm the domain signs with, of
                                             the same size (or only --algorithm's); --emergency
                                             revokes the active key(s) at once: until the new key's
                                             record is in DNS and `serve` activates it, the domain's
                                             mail follows relay.unsigned
  activate DOMAIN SELECTOR
  retire DOMAIN SELECTOR
  revoke DOMAIN SELECTOR
  remove DOMAIN SELECTOR
  remove-domain DOMAIN [--force]
  policy DOMAIN [--interval D] [--retire-after D] [--delete-after D] [--dns-timeout D]
         [--opt-out | --opt-in] [--reset]    the domain's own rotation policy (D: 90d, 72h, 30m, 45s),
                                             each unset value the config's [rotation] one; --opt-out:
                                             never rotated by schedule; --reset: the global policy
                                             again; without options: shows it
  dns DOMAIN [--delegation-zone ZONE]
  import-pem DOMAIN SELECTOR FILE
  export directory DIR                       copy every key (state, selector, timestamps kept) into
                                             the directory store DIR
  export bundle FILE --kek KEKFILE           write every key to a JSON bundle (0600), each private key
                                             sealed with AES-256-GCM under KEKFILE (see new-kek)
  import directory DIR                       copy a directory store's keys into this store
  import bundle FILE --kek KEKFILE           copy a bundle's keys into this store
  import opendkim KEYTABLE SIGNINGTABLE      import the keys an OpenDKIM SigningTable uses, as active
  (import-directory DIR and import-opendkim KEYTABLE SIGNINGTABLE are the older spellings)
  new-kek FILE                               a new key-encryption key for the PostgreSQL store (0600)
  rewrap --old-kek FILE --new-kek FILE       re-encrypt every key of --config's PostgreSQL store
The key store defaults to ./data/keys; with --config FILE it is the one that config names
(type = "directory" or "postgres"). Core dumps are off unless --allow-core-dumps is given.
)";

int usage_error(std::string_view message) {
  std::cerr << "keys: " << terminal_safe(message) << "\n" << kKeysUsage;
  return kUsageError;
}

int failure(std::string_view message) {
  std::cerr << "keys: " << terminal_safe(message) << "\n";
  return kFailure;
}

std::string format_time(std::int64_t seconds) {
  if (seconds == 0) return "-";
  const std::time_t time = static_cast<std::time_t>(seconds);
  std::tm tm{};
  ::gmtime_r(&time, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

void print_records(std::string_view domain, const keystore::SelectorInfo& info,
                   const std::optional<std::string>& delegation_zone) {
  if (!info.refused.empty()) {
    std::cout << "; " << info.selector << " (" << keystore::to_string(info.state)
              << ") REFUSED, nothing to publish: " << terminal_safe(info.refused) << "\n";
    return;
  }
  if (delegation_zone) {
    const auto records = keystore::delegated_records(domain, info.selector, info.dns_record, *delegation_zone);
    std::cout << "; " << info.selector << " (" << keystore::to_string(info.state) << ")\n"
              << "; customer zone:\n"
              << records.customer_cname << "\n"
              << "; operator zone:\n"
              << records.operator_txt << "\n";
  } else {
    std::cout << "; " << info.selector << " (" << keystore::to_string(info.state) << ")\n"
              << keystore::zone_file_txt_line(domain, info.selector, info.dns_record) << "\n";
  }
}

// --algorithm / --bits / --selector shared by add and rotate.
std::optional<std::string> read_key_params(const CliArgs& cli, keystore::KeyParams& params) {
  if (auto algorithm = cli.value("algorithm")) {
    auto parsed = signer::parse_algorithm(*algorithm);
    if (!parsed) return "unknown algorithm '" + *algorithm + "' (rsa-sha256 or ed25519-sha256)";
    params.algorithm = *parsed;
  }
  if (auto bits = cli.value("bits")) {
    try {
      std::size_t used = 0;
      params.bits = std::stoi(*bits, &used);
      if (used != bits->size()) throw std::invalid_argument(*bits);
    } catch (const std::exception&) {
      return "--bits needs a number, not '" + *bits + "'";
    }
  }
  if (auto selector = cli.value("selector")) params.selector = *selector;
  return std::nullopt;
}

int list_keys(const keystore::KeyStore& store, const std::vector<keystore::LoadProblem>& problems) {
  const auto domains = store.list();
  for (const auto& domain : domains) {
    for (const auto& info : domain.selectors) {
      std::cout << domain.domain << "\t" << info.selector << "\t" << signer::to_string(info.algorithm) << "\t"
                << info.bits << "\t" << keystore::to_string(info.state) << "\tcreated " << format_time(info.created_at)
                << "\tactivated " << format_time(info.activated_at) << "\tretired " << format_time(info.retired_at)
                << "\trevoked " << format_time(info.revoked_at)
                << (info.activate_after_dns ? "\tactivate-after-dns" : "")
                << (info.slot.empty() ? std::string() : "\tslot " + info.slot)
                << (domain.delegated ? "\tdelegated" : "") << "\n";
    }
  }
  for (const auto& problem : problems) {
    std::cerr << "keys: cannot load " << terminal_safe(keystore::to_string(problem)) << "\n";
  }
  return problems.empty() ? 0 : kFailure;
}

// --interval / --retire-after / --delete-after / --dns-timeout / --opt-out / --opt-in / --reset.
std::optional<std::string> read_policy_change(const CliArgs& cli, lifecycle::PolicyChange& change) {
  for (auto [name, field] :
       {std::pair{"interval", &change.interval}, std::pair{"retire-after", &change.retire_after},
        std::pair{"delete-after", &change.delete_after}, std::pair{"dns-timeout", &change.dns_timeout}}) {
    const auto text = cli.value(name);
    if (!text) continue;
    *field = lifecycle::parse_policy_duration(*text);
    if (!*field)
      return "--" + std::string(name) + " takes a duration such as 90d, 72h, 30m or 45s, not '" + *text + "'";
  }
  if (cli.flag("opt-out") && cli.flag("opt-in")) return "give --opt-out or --opt-in, not both";
  if (cli.flag("opt-out")) change.opt_out = true;
  if (cli.flag("opt-in")) change.opt_out = false;
  change.reset = cli.flag("reset");
  return std::nullopt;
}

int show_policy(const keystore::DomainInfo& info, const lifecycle::RotationPolicy& global) {
  using lifecycle::format_policy_duration;
  const lifecycle::RotationPolicy policy = lifecycle::effective_policy(global, info.rotation);
  auto line = [&](std::string_view name, std::chrono::seconds value, const std::optional<std::int64_t>& own) {
    std::cout << "  " << name << " " << format_policy_duration(value) << (own ? " (this domain)" : " (global)") << "\n";
  };
  std::cout << info.domain << ": "
            << (!policy.enabled    ? "scheduled rotation is off ([rotation] enabled = false)"
                : policy.opted_out ? "opted out of scheduled rotation"
                                   : "rotates on schedule")
            << "\n";
  line("interval", policy.interval, info.rotation.interval);
  line("retire_after", policy.retire_after, info.rotation.retire_after);
  line("delete_after", policy.delete_after, info.rotation.delete_after);
  line("dns_timeout", policy.dns_timeout, info.rotation.dns_timeout);
  return 0;
}

}  // namespace

int run_keys(Args args) {
  const CliArgs cli(args, {"keystore", "config", "algorithm", "bits", "selector", "activate", "delegation-zone",
                           "old-kek", "new-kek", "kek", "interval", "retire-after", "delete-after", "dns-timeout"});
  if (!cli.ok()) return usage_error(cli.error());
  if (cli.flag(kAllowCoreDumpsFlag)) {
    std::cerr << "keys: core dumps allowed (--allow-core-dumps): a core file would hold private keys\n";
  } else if (auto forbidden = forbid_core_dumps(); !forbidden) {
    return failure(forbidden.error().message);
  }
  if (cli.flag("help") || (!args.empty() && args[0] == "-h")) {
    std::cout << kKeysUsage;
    return 0;
  }
  const auto& words = cli.positional();
  if (words.empty()) return usage_error("missing command");
  const std::string& command = words[0];
  const std::size_t operands = words.size() - 1;
  auto expect = [&](std::size_t count) { return operands == count; };

  static const std::map<std::string, std::size_t, std::less<>> kOperands = {
      {"add", 1},     {"list", 0},   {"rotate", 1},           {"activate", 2},
      {"retire", 2},  {"revoke", 2}, {"remove", 2},           {"remove-domain", 1},
      {"policy", 1},  {"dns", 1},    {"import-pem", 3},       {"import-opendkim", 2},
      {"new-kek", 1}, {"rewrap", 0}, {"import-directory", 1}, {"export", 2},
      {"import", 2}};
  const auto known = kOperands.find(command);
  if (known == kOperands.end()) return usage_error("unknown command '" + command + "'");
  const bool transfer = command == "export" || command == "import";  // import opendkim takes 3
  if (!expect(known->second) && !(transfer && operands == 3)) {
    return usage_error(command + " takes " + std::to_string(known->second) + " argument(s), got " +
                       std::to_string(operands));
  }

  keystore::KeyParams params;
  if (auto problem = read_key_params(cli, params)) return usage_error(*problem);
  const std::string activation = cli.value("activate").value_or("later");
  if (activation != "now" && activation != "later") {
    return usage_error("--activate takes 'now' or 'later'");
  }

  if (command == "new-kek") {
    if (auto created = keystore::Kek::create(words[1]); !created) return failure(created.error().message);
    std::cout << "wrote a new key-encryption key to " << words[1] << " (0600); keep a copy off this host\n";
    return 0;
  }
  if (command == "rewrap") {
    const auto config_path = cli.value("config");
    const auto old_kek = cli.value("old-kek");
    const auto new_kek = cli.value("new-kek");
    if (!config_path || !old_kek || !new_kek) return usage_error("rewrap needs --config, --old-kek and --new-kek");
    return run_rewrap(*config_path, *old_kek, *new_kek);
  }

  std::shared_ptr<keystore::Storage> storage;
  if (const auto config_path = cli.value("config")) {
    if (cli.value("keystore")) return usage_error("give --keystore or --config, not both");
    auto opened = open_configured_keystore(*config_path);
    if (!opened) return failure(opened.error().message);
    storage = opened->storage;
  }
  if (!storage) {
    keystore::StorageOptions options;
    options.directory.path = cli.value("keystore").value_or(std::string(kDefaultKeystore));
    auto opened = keystore::open(std::move(options));
    if (!opened) return failure(opened.error().message);
    storage = std::move(*opened);
  }
  const std::shared_ptr<keystore::KeyStore> holder = storage->keys();
  keystore::KeyStore& store = *holder;
  // Delegated domains need the configured publishing ([dns.publish]): its zone and slots.
  lifecycle::DelegationSettings delegation;
  std::shared_ptr<dns::RecordPublisher> publisher;
  if (const auto config_path = cli.value("config")) {
    const config::LoadResult loaded = config::load_config(*config_path);
    if (loaded.ok() && loaded.config.dns_publish.type == config::DnsPublishType::Rfc2136) {
      delegation = delegation_settings(loaded.config);
      if (command == "remove-domain") {
        auto made = make_record_publisher(loaded.config);
        if (!made) return failure(made.error().message);
        publisher = std::shared_ptr<dns::RecordPublisher>(std::move(*made));
      }
    }
  }
  lifecycle::KeyLifecycle keys(store, delegation.slots);

  auto report = [](const Result<void>& result, std::string_view done) {
    if (!result) return failure(result.error().message);
    std::cout << done << "\n";
    return 0;
  };

  if (transfer || command == "import-directory" || command == "import-opendkim") {
    return run_key_transfer(store, storage->transfer(), words, cli);
  }
  if (command == "list") return list_keys(store, storage->problems());
  if (command == "add" && cli.flag("delegated")) {
    const std::string& domain = words[1];
    if (delegation.slots.empty()) {
      return usage_error("--delegated needs --config FILE whose [dns.publish] has type = \"rfc2136\"");
    }
    if (params.selector) return usage_error("--delegated names its keys by slot: leave --selector out");
    auto created = keys.add_delegated_domain(domain, params, static_cast<std::int64_t>(std::time(nullptr)));
    if (!created) return failure(created.error().message);
    const auto name = store.domain(domain);
    const std::string& canonical = name ? name->domain : domain;
    std::cout << canonical << ": delegated; key " << created->selector << " staged in slot " << created->slot
              << "\nthe domain's owner publishes, once:\n";
    for (const auto& slot : delegation.slots) std::cout << dns::owner_cname(slot, canonical, delegation.zone) << "\n";
    std::cout << "serve publishes the key behind them in " << delegation.zone
              << " and activates it once DNS serves it through the CNAMEs; until then mail from " << canonical
              << " follows relay.unsigned (dkim-relay dns status " << canonical << " shows the progress)\n";
    return 0;
  }
  if (command == "add") {
    const std::string& domain = words[1];
    auto created = keys.add_domain(domain, params);
    if (!created) return failure(created.error().message);
    const auto name = store.domain(domain);
    const std::string& canonical = name ? name->domain : domain;
    std::cout << canonical << ": selector " << created->selector << " " << keystore::to_string(created->state)
              << "; publish:\n"
              << keystore::zone_file_txt_line(canonical, created->selector, created->dns_record) << "\n";
    return 0;
  }
  if (command == "rotate") {
    lifecycle::RotateOptions options;
    if (cli.value("algorithm")) options.algorithm = params.algorithm;
    if (cli.value("bits")) options.bits = params.bits;
    options.selector = params.selector;
    options.emergency = cli.flag("emergency");
    // CLI default: staged for the operator to activate ("later"); an emergency rotation's key
    // activates by itself once `serve` sees it in DNS.
    options.activation = activation == "now" ? lifecycle::Activation::Now : lifecycle::Activation::Manual;
    auto rotated = keys.rotate(words[1], options);
    if (!rotated) return failure(rotated.error().message);
    for (const auto& revoked : rotated->revoked) {
      std::cout << rotated->domain << ": revoked " << revoked << " (emergency); until the new key is in DNS, mail "
                << "from " << rotated->domain << " follows relay.unsigned\n";
    }
    for (const auto& key : rotated->keys) {
      std::cout << rotated->domain << ": selector " << key.selector << " " << keystore::to_string(key.state) << " ("
                << signer::to_string(key.algorithm) << ", " << key.bits << " bits); publish:\n"
                << keystore::zone_file_txt_line(rotated->domain, key.selector, key.dns_record) << "\n";
      if (key.state == keystore::KeyState::Staged) {
        std::cout << (key.activate_after_dns ? "serve activates it once DNS serves this record; or: " : "then: ")
                  << "dkim-relay keys activate " << rotated->domain << " " << key.selector << "\n";
      }
    }
    return 0;
  }
  if (command == "activate") {
    return report(keys.activate_forced(words[1], words[2]), "activated " + words[2]);
  }
  if (command == "retire") return report(keys.retire(words[1], words[2]), "retired " + words[2]);
  if (command == "revoke") return report(keys.revoke(words[1], words[2]), "revoked " + words[2]);
  if (command == "remove") return report(keys.remove_key(words[1], words[2]), "removed " + words[2]);
  if (command == "remove-domain") {
    if (auto info = store.domain(words[1]); info && info->delegated && publisher) {
      const bool active = std::any_of(info->selectors.begin(), info->selectors.end(),
                                      [](const auto& key) { return key.state == keystore::KeyState::Active; });
      if (active && !cli.flag("force")) {
        return failure("domain " + info->domain + " still signs with an active key; retire it first or use --force");
      }
      // Its records are revoked, then deleted, before the domain goes.
      const auto unpublished = lifecycle::unpublish_delegated(*info, *publisher, delegation);
      for (const auto& [record, step] : unpublished.steps) std::cout << dns::describe(step) << "\n";
      if (!unpublished.failed.empty() && !cli.flag("force")) {
        return failure("domain " + info->domain + " kept: its DNS records could not be removed (" + unpublished.failed +
                       "); retry, or use --force to leave them");
      }
      return report(keys.remove_domain(words[1], true), "removed " + words[1]);
    }
    return report(keys.remove_domain(words[1], cli.flag("force")), "removed " + words[1]);
  }
  if (command == "policy") {
    // The config's [rotation] policy and limits when --config names one; the defaults otherwise.
    lifecycle::RotationPolicy global;
    lifecycle::PolicyLimits limits;
    if (const auto config_path = cli.value("config")) {
      const config::LoadResult loaded = config::load_config(*config_path);
      if (!loaded.ok()) return failure("cannot load " + *config_path);
      global = rotation_policy(loaded.config);
      limits = rotation_limits(loaded.config);
    }
    lifecycle::PolicyChange change;
    if (auto problem = read_policy_change(cli, change)) return usage_error(*problem);
    const bool changes = change.reset || change.opt_out || change.interval || change.retire_after ||
                         change.delete_after || change.dns_timeout;
    if (changes) {
      auto stored = lifecycle::DomainPolicy(store, global, limits).change(words[1], change);
      if (!stored) return failure(stored.error().message);
    }
    auto info = store.domain(words[1]);
    if (!info) return failure(info.error().message);
    return show_policy(*info, global);
  }
  if (command == "dns") {
    auto info = store.domain(words[1]);
    if (!info) return failure(info.error().message);
    if (info->delegated && !delegation.slots.empty()) {
      std::cout << "; " << info->domain << " is delegated: the owner publishes, once:\n";
      for (const auto& slot : delegation.slots)
        std::cout << dns::owner_cname(slot, info->domain, delegation.zone) << "\n";
      std::cout << "; serve publishes and rotates the keys behind them in " << delegation.zone << ":\n";
      for (const auto& slot : delegation.slots) {
        if (const auto* holder = lifecycle::slot_holder(*info, slot))
          std::cout << "; " << slot << ": " << holder->selector << " (" << keystore::to_string(holder->state) << ") "
                    << dns::delegated_record_name(slot, info->domain, delegation.zone) << " TXT \""
                    << holder->dns_record << "\"\n";
      }
      return 0;
    }
    const auto zone = cli.value("delegation-zone");
    for (const auto& selector : info->selectors) print_records(info->domain, selector, zone);
    return 0;
  }
  if (command == "import-pem") {
    auto imported = keystore::import_pem_file(storage->transfer(), words[1], words[2], words[3]);
    if (!imported) return failure(imported.error().message);
    const auto name = store.domain(words[1]);
    std::cout << "imported " << imported->selector << " as active; publish:\n"
              << keystore::zone_file_txt_line(name ? name->domain : words[1], imported->selector, imported->dns_record)
              << "\n";
    return 0;
  }
  return usage_error("unknown command '" + command + "'");
}

}  // namespace dkr::app
