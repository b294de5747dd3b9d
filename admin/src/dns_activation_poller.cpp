#include "admin/dns_activation_poller.hpp"

#include <atomic>
#include <mutex>

#include <spdlog/spdlog.h>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "dns/dkim_record.hpp"
#include "dns/publication.hpp"

namespace dkr::admin {

using dns::check_publication;
using dns::dkim_record_name;
using dns::PublicationCheck;
using dns::PublicationStatus;
using dns::TxtLookup;

namespace asio = boost::asio;

struct DnsActivationPoller::State : std::enable_shared_from_this<DnsActivationPoller::State> {
  State(asio::io_context& io, keystore::KeyStore& store, std::shared_ptr<dns::Resolver> resolver,
        std::chrono::milliseconds interval, RunBlocking run_blocking, AdminCounters& counters,
        std::function<bool()> runs_here)
      : strand(asio::make_strand(io)),
        timer(strand),
        store(store),
        resolver(std::move(resolver)),
        interval(interval),
        run_blocking(std::move(run_blocking)),
        counters(counters),
        runs_here(std::move(runs_here)) {}

  struct Candidate {
    std::string domain;
    std::string selector;
    std::string record;
  };

  void schedule() {
    if (stopped) return;
    timer.expires_after(interval);
    timer.async_wait(asio::bind_executor(strand, [self = shared_from_this()](auto ec) {
      if (!ec) self->round();
    }));
  }

  // Listing is a snapshot read: cheap enough for the I/O thread.
  void round() {
    if (stopped) return;
    if (runs_here && !runs_here()) return schedule();
    std::vector<Candidate> candidates;
    for (const auto& domain : store.list()) {
      for (const auto& selector : domain.selectors) {
        if (selector.state == keystore::KeyState::Staged && selector.activate_after_dns) {
          candidates.push_back({domain.domain, selector.selector, selector.dns_record});
        }
      }
    }
    if (candidates.empty() || !resolver) return schedule();

    auto remaining = std::make_shared<std::size_t>(candidates.size());
    for (auto& candidate : candidates) {
      const std::string name = dkim_record_name(candidate.selector, candidate.domain);
      resolver->resolve_txt(name, [self = shared_from_this(), candidate, remaining](TxtLookup lookup) {
        asio::post(self->strand, [self, candidate, remaining, lookup = std::move(lookup)] {
          self->on_lookup(candidate, lookup);
          if (--*remaining == 0) self->schedule();
        });
      });
    }
  }

  void on_lookup(const Candidate& candidate, const TxtLookup& lookup) {
    if (stopped) return;
    const PublicationCheck check = check_publication(lookup, candidate.record);
    counters.count_dns_check(check.status == PublicationStatus::Published);
    if (check.status != PublicationStatus::Published) {
      spdlog::debug("admin: {} for {} not activated yet: DNS {} ({})", candidate.selector, candidate.domain,
                    to_string(check.status), check.detail);
      return;
    }
    run_blocking([self = shared_from_this(), candidate] { self->activate(candidate); });
  }

  // On the worker: re-checks the key is still waiting, since an operator may have acted meanwhile.
  void activate(const Candidate& candidate) {
    if (stopped) return;
    const auto info = store.domain(candidate.domain);
    if (!info) return;
    for (const auto& selector : info->selectors) {
      if (selector.selector != candidate.selector) continue;
      if (selector.state != keystore::KeyState::Staged || !selector.activate_after_dns) return;
      if (auto ok = store.activate(candidate.domain, candidate.selector); !ok) {
        spdlog::error("admin: DNS record of {} for {} is published but activation failed: {}", candidate.selector,
                      candidate.domain, ok.error().message);
        return;
      }
      counters.count_dns_activation();
      spdlog::info("admin audit: activated selector {} for {} after its DNS record was seen", candidate.selector,
                   candidate.domain);
      return;
    }
  }

  asio::strand<asio::io_context::executor_type> strand;
  asio::steady_timer timer;
  keystore::KeyStore& store;
  std::shared_ptr<dns::Resolver> resolver;
  std::chrono::milliseconds interval;
  RunBlocking run_blocking;
  AdminCounters& counters;
  std::function<bool()> runs_here;
  std::atomic<bool> stopped{false};
};

DnsActivationPoller::DnsActivationPoller(asio::io_context& io, keystore::KeyStore& store,
                                         std::shared_ptr<dns::Resolver> resolver, std::chrono::milliseconds interval,
                                         RunBlocking run_blocking, AdminCounters& counters,
                                         std::function<bool()> runs_here)
    : state_(std::make_shared<State>(io, store, std::move(resolver), interval, std::move(run_blocking), counters,
                                     std::move(runs_here))) {}

DnsActivationPoller::~DnsActivationPoller() { stop(); }

void DnsActivationPoller::start() {
  asio::post(state_->strand, [state = state_] { state->schedule(); });
}

void DnsActivationPoller::stop() {
  state_->stopped = true;
  asio::post(state_->strand, [state = state_] { state->timer.cancel(); });
}

}  // namespace dkr::admin
