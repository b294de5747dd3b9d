// dkim-relay serve: loads the config, opens the keystore, and runs the relay and the admin API
// until SIGTERM/SIGINT (graceful) — SIGHUP reloads the keystore.
#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <malloc.h>

#include <csignal>
#include <iostream>
#include <sstream>
#include <thread>

#include "admin/admin_server.hpp"
#include "admin_token.hpp"
#include "scoped_admin_tokens.hpp"
#include "cli_args.hpp"
#include "commands.hpp"
#include "config/config.hpp"
#include "core_dumps.hpp"
#include "keystore/storage.hpp"
#include "keystore/dns_record.hpp"
#include "signing_scope_report.hpp"
#include "key_publication_dns.hpp"
#include "keystore_backend.hpp"
#include "lifecycle/rotation_loop.hpp"
#include "lifecycle/rotation_scheduler.hpp"
#include "logging_setup.hpp"
#include "open_file_limit.hpp"
#include "ops_metrics.hpp"
#include "record_publisher_factory.hpp"
#include "relay/relay_server.hpp"
#include "runtime_settings.hpp"
#include "secret_files.hpp"
#include "service_notifier.hpp"
#include "signer/message_signer.hpp"
#include "upstream_factory.hpp"

namespace dkr::app {

namespace {

constexpr std::string_view kUsage = R"(usage: dkim-relay [serve] [--config FILE] [--check-config]

Without --config (and without DKIM_RELAY_CONFIG in the environment) the relay runs on its embedded
defaults: SMTP on 127.0.0.1:2525, upstream "directory" writing ./data/outbox/*.eml, keys in
./data/keys (a key for example.com is created on first start), admin API on 127.0.0.1:8025 with a
token in ./data/admin.token. DKIM_RELAY_<SECTION>_<KEY> variables override single settings.

  --config FILE     TOML configuration (see config/dkim-relay.example.toml)
  --check-config    validate, print the effective configuration with secrets masked, and exit
  --allow-core-dumps  keep core dumps on (debugging only: a core file holds keys and secrets)
)";

config::LoadResult load(const CliArgs& cli) {
  std::optional<std::string> path = cli.value("config");
  if (!path) {
    if (const char* env = std::getenv(std::string(config::kConfigPathVariable).c_str()); env && *env) path = env;
  }
  return path ? config::load_config(*path) : config::load_defaults(config::process_environment());
}

// First start on an empty store: a key for the demo domain, so that mail is signed right away.
// Only for a store no fleet shares: a fleet's new replica must never add a key nobody published.
void ensure_demo_domain(keystore::KeyStore& store, const config::Config& cfg) {
  if (cfg.keystore.demo_domain.empty() || !store.list().empty()) return;
  keystore::KeyParams params;
  auto created = store.add_domain(cfg.keystore.demo_domain, params);
  if (!created) {
    spdlog::warn("could not create the demo domain {}: {}", cfg.keystore.demo_domain, created.error().message);
    return;
  }
  spdlog::info("created demo domain {} with selector {}", cfg.keystore.demo_domain, created->selector);
}

void print_banner(const config::Config& cfg, const OpenedKeystore& opened, const AdminToken& token,
                  const std::vector<std::string>& listening, unsigned short admin_port, bool core_dumps) {
  const keystore::KeyStore& store = *opened.storage->keys();
  std::ostringstream out;
  out << "dkim-relay " << DKIM_RELAY_VERSION << " ready\n";
  if (core_dumps) out << "  WARNING     core dumps allowed (--allow-core-dumps): a core file holds private keys\n";
  for (const auto& l : listening) out << "  SMTP        " << l << "\n";
  if (cfg.upstream.type == config::UpstreamType::Directory)
    out << "  upstream    directory " << cfg.upstream.directory << " (one .eml per accepted message)\n";
  else
    out << "  upstream    smtp " << cfg.upstream.host << ":" << cfg.upstream.port
        << " starttls=" << config::to_string(cfg.upstream.starttls) << "\n";
  out << "  keystore    " << opened.description << "\n";
  if (cfg.admin.enabled)
    out << "  admin API   http" << (cfg.admin.tls_cert.empty() ? "" : "s") << "://" << cfg.admin.listen.host << ":"
        << admin_port << "  (token: " << token.source << (token.generated ? ", generated now" : "") << ")\n";
  if (cfg.admin.enabled && cfg.admin.allow_plaintext && cfg.admin.tls_cert.empty())
    out << "  WARNING     admin API without TLS (admin.allow_plaintext): tokens cross the network in clear text\n";
  const auto domains = store.list();
  std::size_t shown = 0;
  for (const auto& d : domains) {
    for (const auto& s : d.selectors) {
      if (s.state != keystore::KeyState::Active && s.state != keystore::KeyState::Staged) continue;
      if (shown++ == 0) out << "DNS records to publish:\n";
      if (shown > 10) continue;
      if (!s.refused.empty()) {
        out << "  " << s.selector << "._domainkey." << d.domain << ". REFUSED, nothing to publish: " << s.refused
            << "\n";
        continue;
      }
      out << "  " << s.selector << "._domainkey." << d.domain << ". IN TXT \"" << s.dns_record << "\"  ("
          << keystore::to_string(s.state) << ")\n";
    }
  }
  if (shown > 10) out << "  ... and " << (shown - 10) << " more: dkim-relay keys list\n";
  std::cout << out.str() << std::flush;
}

// Message buffers of up to the spill threshold are allocated and freed for every message. By
// default glibc returns such memory to the kernel right away (madvise/munmap) and faults it in again
// for the next message: bench/relay measured page faults, zeroing and madvise at ~8 % of the relay's
// CPU for 50 KB messages. Keeping up to 32 MiB per arena costs little next to the spill threshold
// times concurrent messages that the relay may hold anyway.
void keep_message_buffers() {
  mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 32 * 1024 * 1024);
}

}  // namespace

int run_serve(Args args) {
  keep_message_buffers();
  const CliArgs cli(args, {"config"});
  if (cli.flag("help")) {
    std::cout << kUsage;
    return 0;
  }
  if (!cli.ok() || !cli.positional().empty()) {
    std::cerr << "dkim-relay: " << (cli.ok() ? "unexpected argument " + cli.positional().front() : cli.error()) << "\n"
              << kUsage;
    return 2;
  }
  const bool core_dumps = cli.flag(kAllowCoreDumpsFlag);
  if (!core_dumps) {
    if (auto forbidden = forbid_core_dumps(); !forbidden) {
      std::cerr << "dkim-relay: " << forbidden.error().message << "\n";
      return 1;
    }
  }
  const config::LoadResult loaded = load(cli);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) std::cerr << e.to_string() << "\n";
    std::cerr << "dkim-relay: " << loaded.errors.size() << " configuration problem(s)\n";
    return 2;
  }
  const config::Config& cfg = loaded.config;
  if (const auto problems = check_secret_files(cfg); !problems.empty()) {
    for (const auto& problem : problems) std::cerr << "dkim-relay: " << problem.message << "\n";
    return 2;
  }
  // The publisher is used by the rotation scheduler (delegated domains) and the admin API (removing
  // one); a TSIG key file it cannot use stops the start.
  auto publish_failures = std::make_shared<dns::PublishFailureCounter>();
  std::shared_ptr<dns::RecordPublisher> publisher;
  if (auto made = make_record_publisher(cfg); !made) {
    std::cerr << "dkim-relay: " << made.error().message << "\n";
    return 2;
  } else if (*made) {
    publisher = std::make_shared<dns::CountingPublisher>(std::shared_ptr<dns::RecordPublisher>(std::move(*made)),
                                                         publish_failures);
  }
  auto relay_cfg = relay_settings(cfg);
  if (!relay_cfg) {
    std::cerr << "dkim-relay: " << relay_cfg.error().message << "\n";
    return 2;
  }
  if (cli.flag("check-config")) {
    for (const auto& warning : loaded.warnings) std::cerr << "warning: " << warning.to_string() << "\n";
    config::RenderOptions render;
    render.default_signed_headers = signer::default_signed_headers();
    render.default_oversigned_headers = signer::default_oversigned_headers();
    std::cout << config::render_effective_config(cfg, render);
    std::cout << "\n# Effective signing scope, per source of mail:\n";
    for (const auto& line : signing_scope_lines(cfg)) std::cout << "#   " << line << "\n";
    if (auto warning = unscoped_signing_warning(cfg)) std::cerr << "warning: " << *warning << "\n";
    return 0;
  }
  setup_logging(cfg.log);
  for (const auto& warning : loaded.warnings) spdlog::warn("config: {}", warning.to_string());
  if (auto warning = unscoped_signing_warning(cfg)) spdlog::warn("config: {}", *warning);
  raise_open_file_limit(cfg.relay.max_connections);
  // A file-size limit (ulimit -f) must fail the spill write with EFBIG, answered 451, rather than
  // kill the relay with every session in it.
  std::signal(SIGXFSZ, SIG_IGN);

  auto opened_store = open_keystore(cfg, /*watch=*/true);
  if (!opened_store) {
    spdlog::critical("{}", opened_store.error().message);
    return 1;
  }
  const OpenedKeystore opened = std::move(*opened_store);
  keystore::Storage& storage = *opened.storage;
  std::shared_ptr<keystore::KeyStore> store = storage.keys();
  // A fleet's store shows the keys it refuses in /readyz (below), and a new replica seeds nothing.
  if (storage.fleet() == nullptr) {
    for (const auto& problem : storage.problems()) spdlog::error("keystore: {}", keystore::to_string(problem));
    ensure_demo_domain(*store, cfg);
  }

  AdminToken token;
  if (cfg.admin.enabled) {
    auto loaded_token = load_or_create_admin_token(cfg.admin);
    if (!loaded_token) {
      spdlog::critical("{}", loaded_token.error().message);
      return 1;
    }
    token = std::move(loaded_token).value();
  }

  // Upstream connections get their own threads, so that a slow upstream handshake or the admin
  // API never delays the other; the SMTP sessions run on the relay's own threads.
  boost::asio::io_context upstream_io;
  auto upstream_work = boost::asio::make_work_guard(upstream_io);
  std::vector<std::thread> upstream_threads;
  for (int i = 0; i < 2; ++i) upstream_threads.emplace_back([&upstream_io] { upstream_io.run(); });
  struct JoinUpstream {
    boost::asio::io_context& io;
    std::vector<std::thread>& threads;
    ~JoinUpstream() {
      io.stop();
      for (auto& t : threads) t.join();
    }
  } join_upstream{upstream_io, upstream_threads};
  // Declared after upstream_io, so destroyed before it: handlers still queued here when the
  // loop stops (the admin server's stop) can hold the last reference to the SMTP upstream,
  // whose destructor posts to upstream_io; with control destroyed last that was a dead context
  // and the process hung after "stopped" instead of exiting 0.
  boost::asio::io_context control;  // signals, admin API, DNS checks: not the SMTP threads
  auto upstream = make_upstream(cfg, upstream_io);
  if (!upstream) {
    spdlog::critical("{}", upstream.error().message);
    return 1;
  }
  relay::RelayMetrics metrics;
  relay::RelayServer server(*relay_cfg, store, *upstream, metrics);
  if (auto started = server.start(); !started) {
    spdlog::critical("cannot start the SMTP listener: {}", started.error().message);
    return 1;
  }

  // The rotation schedule (and activation after DNS proof) runs here, admin API or not.
  auto probe = make_key_publication_probe(cfg);
  if (!probe) {
    spdlog::critical("DNS resolver for key checks: {}", probe.error().message);
    server.stop(std::chrono::milliseconds(0));
    return 1;
  }
  const lifecycle::RotationPolicy policy = rotation_policy(cfg);
  if (cfg.rotation.interval < std::chrono::hours(24)) {
    spdlog::warn("rotation.interval is {}s, under 1 day (rotation.allow_short_intervals): for tests and demos only",
                 policy.interval.count());
  }
  lifecycle::RotationScheduler scheduler(*store, **probe, policy);
  if (publisher) scheduler.enable_delegation(publisher, delegation_settings(cfg));
  scheduler.set_parallel_probes(cfg.rotation.parallel_dns_checks);
  lifecycle::RotationLoop rotation_loop(scheduler, rotation_check_interval(cfg),
                                        [&storage] { return storage.leads_periodic_jobs(); });
  rotation_loop.start();

  std::unique_ptr<admin::AdminServer> admin_server;
  if (cfg.admin.enabled) {
    admin::AdminHooks hooks;
    hooks.relay_metrics = [&metrics, &scheduler, store, fleet = storage.fleet(), publish_failures, publisher,
                           ops = std::make_shared<OpsMetrics>(served_certificates(cfg))] {
      return metrics.render_prometheus() + (fleet != nullptr ? fleet->render_metrics() : std::string()) +
             lifecycle::render_rotation_metrics(store->list(), scheduler.policy(), scheduler.now(),
                                                scheduler.rotations_done(), scheduler.rotations_failed()) +
             ops->render() + (publisher ? render_publish_failures(*publish_failures) : std::string());
    };
    hooks.rotation_policy = policy;
    if (publisher) {
      hooks.delegation_zone = cfg.dns_publish.zone;
      hooks.delegation_slots = cfg.dns_publish.selectors;
      hooks.publisher = publisher;
      hooks.publish_problem = [&scheduler](const std::string& domain) { return scheduler.publish_problem(domain); };
    }
    hooks.rotation_limits = rotation_limits(cfg);
    hooks.dns_wait = [&scheduler](const std::string& domain, const std::string& selector) {
      return scheduler.dns_wait(domain, selector);
    };
    if (const keystore::StoreFleet* fleet = storage.fleet()) {
      hooks.keystore_ready = [fleet] { return fleet->ready(); };
      hooks.runs_periodic_jobs = [fleet] { return fleet->runs_periodic_jobs(); };
      hooks.keystore_refusals = [&storage] {
        std::vector<std::string> refused;
        for (const auto& problem : storage.problems()) refused.push_back(keystore::to_string(problem));
        return refused;
      };
    }
    hooks.upstream_reachable = [up = *upstream] { return up->reachable(); };
    if (opened.pkcs11) hooks.private_keys_available = [token = opened.pkcs11] { return token->available(); };
    auto settings = admin_settings(cfg, token.value);
    auto scoped = load_scoped_admin_tokens(cfg.admin, token.value);
    if (!scoped) {
      spdlog::critical("{}", scoped.error().message);
      server.stop(std::chrono::milliseconds(0));
      return 1;
    }
    settings.tokens = std::move(scoped).value();
    admin_server = std::make_unique<admin::AdminServer>(control, *store, std::move(settings), hooks);
    if (auto started = admin_server->start(); !started) {
      spdlog::critical("cannot start the admin API: {}", started.error().message);
      server.stop(std::chrono::milliseconds(0));
      return 1;
    }
  }

  if (cfg.metrics.enabled && !cfg.admin.enabled) {
    spdlog::warn(
        "metrics.enabled: the metrics listener is part of the admin API, which admin.enabled = false turns off");
  }

  std::unique_ptr<keystore::KeyStoreWatcher> watcher;
  if (cfg.keystore.watch) {
    auto w = storage.follow_outside_changes();
    if (w)
      watcher = std::move(w).value();
    else
      spdlog::warn("keystore: no change watching ({}); SIGHUP reloads", w.error().message);
  }

  print_banner(cfg, opened, token, server.listening(), admin_server ? admin_server->port() : 0, core_dumps);

  boost::asio::signal_set signals(control, SIGTERM, SIGINT, SIGHUP);
  std::thread stopper;  // drains the relay while this thread keeps the control loop running
  std::function<void(const boost::system::error_code&, int)> on_signal = [&](const boost::system::error_code& ec,
                                                                             int signal) {
    if (ec) return;
    if (signal == SIGHUP) {
      service_notifier::reloading();
      auto reloaded = store->reload();
      if (reloaded)
        spdlog::info("SIGHUP: keystore reloaded");
      else
        spdlog::error("SIGHUP: keystore reload: {}", reloaded.error().message);
      service_notifier::ready();
      signals.async_wait(on_signal);
      return;
    }
    spdlog::info("signal {}: stopping (grace {} ms)", signal, cfg.relay.shutdown_grace.count());
    if (stopper.joinable()) return;  // a second signal while draining: keep draining
    service_notifier::stopping();
    stopper = std::thread([&] {
      server.stop(cfg.relay.shutdown_grace);
      rotation_loop.stop();
      boost::asio::post(control, [&] {
        watcher.reset();
        if (admin_server) admin_server->stop();
        signals.cancel();
        control.stop();
      });
    });
  };
  signals.async_wait(on_signal);
  // Only now: systemd may send SIGHUP (reload) or SIGTERM as soon as it reads READY=1, and before
  // the signal set exists their default action would kill the relay.
  service_notifier::ready();
  control.run();
  if (stopper.joinable()) stopper.join();
  spdlog::info("stopped");
  return 0;
}

}  // namespace dkr::app
