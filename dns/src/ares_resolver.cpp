#include "dns/resolver.hpp"

#include <ares.h>
#include <arpa/nameser.h>
#include "ldns.hpp"

#include <cctype>

#include <map>
#include <mutex>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

namespace dkr::dns {
namespace {

namespace asio = boost::asio;
using Strand = asio::strand<asio::io_context::executor_type>;

// c-ares' channel is not thread-safe: every call into it happens on `strand_`.
class AresResolver final : public Resolver, public std::enable_shared_from_this<AresResolver> {
 public:
  explicit AresResolver(asio::io_context& io) : io_(io), strand_(asio::make_strand(io)), timer_(strand_) {}

  ~AresResolver() override {
    destroying_ = true;
    if (channel_ != nullptr) ares_destroy(channel_);  // calls sock_state for open sockets: releases them
    for (auto& [fd, watch] : sockets_) {
      watch->closed = true;
      (void)watch->descriptor.release();
    }
  }

  Result<void> init(const ResolverSettings& settings) {
    static std::once_flag library_once;
    static int library_status = ARES_SUCCESS;
    std::call_once(library_once, [] { library_status = ares_library_init(ARES_LIB_INIT_ALL); });
    if (library_status != ARES_SUCCESS) return make_error(std::string("c-ares: ") + ares_strerror(library_status));

    // Two tries; c-ares doubles the timeout on the second, so try 1 + try 2 = timeout/3 + 2*timeout/3.
    const auto first_try = std::max<long>(settings.timeout.count() / 3, 50);
    ares_options options{};
    options.timeout = static_cast<int>(first_try);
    options.tries = 2;
    options.flags = ARES_FLAG_EDNS;
    options.ednspsz = 1232;  // fits in one unfragmented datagram; larger keys fall back to TCP
    options.sock_state_cb = &AresResolver::on_socket_state;
    options.sock_state_cb_data = this;
    const int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS | ARES_OPT_EDNSPSZ | ARES_OPT_SOCK_STATE_CB;
    if (const int status = ares_init_options(&channel_, &options, mask); status != ARES_SUCCESS) {
      channel_ = nullptr;
      return make_error(std::string("c-ares init: ") + ares_strerror(status));
    }
    if (!settings.server.empty()) {
      if (const int status = ares_set_servers_ports_csv(channel_, settings.server.c_str()); status != ARES_SUCCESS) {
        return make_error("bad DNS resolver address '" + settings.server + "': " + ares_strerror(status));
      }
    }
    return {};
  }

  void resolve_txt(std::string name, Callback done) override {
    asio::post(strand_, [self = shared_from_this(), name = std::move(name), done = std::move(done)]() mutable {
      self->start_query(name, Query{self, std::move(done), {}});
    });
  }

  void resolve_cname(std::string name, CnameCallback done) override {
    asio::post(strand_, [self = shared_from_this(), name = std::move(name), done = std::move(done)]() mutable {
      self->start_query(name, Query{self, {}, std::move(done)});
    });
  }

  void shutdown() override {
    asio::post(strand_, [self = shared_from_this()] {
      self->stopped_ = true;
      ares_cancel(self->channel_);  // outstanding queries complete with ARES_ECANCELLED
      self->timer_.cancel();
      // Idle sockets c-ares keeps open would otherwise keep waits (and so this object) alive.
      for (auto& [fd, watch] : self->sockets_) {
        boost::system::error_code ignored;
        watch->descriptor.cancel(ignored);
      }
    });
  }

 private:
  struct SocketWatch {
    explicit SocketWatch(Strand& strand, int fd) : descriptor(strand, fd) {}
    asio::posix::stream_descriptor descriptor;
    bool want_read = false;
    bool want_write = false;
    bool read_pending = false;
    bool write_pending = false;
    bool closed = false;
  };

  // One lookup in flight: a TXT lookup has `done`, a CNAME lookup `cname_done`.
  struct Query {
    std::shared_ptr<AresResolver> self;
    Callback done;
    CnameCallback cname_done;
  };

  void start_query(const std::string& name, Query query) {
    if (stopped_) {
      asio::post(io_, [done = std::move(query.done), cname_done = std::move(query.cname_done)] {
        if (done) done(TxtLookup{TxtLookup::Outcome::Failed, {}, "cancelled"});
        if (cname_done) cname_done(CnameLookup{CnameLookup::Outcome::Failed, {}, "cancelled"});
      });
      return;
    }
    const int type = query.done ? ns_t_txt : ns_t_cname;
    ares_query(channel_, name.c_str(), ns_c_in, type, &AresResolver::on_reply, new Query(std::move(query)));
    arm_timer();
  }

  static void on_reply(void* arg, int status, int /*timeouts*/, unsigned char* answer, int length) {
    std::unique_ptr<Query> query(static_cast<Query*>(arg));
    // Posted, not called: the callback may start new lookups, which must not re-enter c-ares here.
    if (query->done) {
      asio::post(query->self->io_, [done = std::move(query->done),
                                    lookup = to_lookup(status, answer, length)]() mutable { done(std::move(lookup)); });
    } else {
      asio::post(query->self->io_,
                 [done = std::move(query->cname_done), lookup = to_cname_lookup(status, answer, length)]() mutable {
                   done(std::move(lookup));
                 });
    }
  }

  // c-ares 1.18 parses no CNAME answer; ldns reads the message.
  static CnameLookup to_cname_lookup(int status, const unsigned char* answer, int length) {
    if (status == ARES_ENOTFOUND) return {CnameLookup::Outcome::NoAlias, {}, "NXDOMAIN"};
    if (status == ARES_ENODATA) return {CnameLookup::Outcome::NoAlias, {}, "no CNAME record (NODATA)"};
    if (status != ARES_SUCCESS) {
      return {CnameLookup::Outcome::Failed, {}, std::string("DNS lookup failed: ") + ares_strerror(status)};
    }
    ldns_pkt* packet = nullptr;
    if (ldns_wire2pkt(&packet, answer, static_cast<std::size_t>(length)) != LDNS_STATUS_OK) {
      return {CnameLookup::Outcome::Failed, {}, "bad DNS answer"};
    }
    CnameLookup lookup{CnameLookup::Outcome::NoAlias, {}, "no CNAME record (NODATA)"};
    // The first CNAME of the answer is the one at the name asked (a resolver may add the chain).
    const ldns_rr_list* records = ldns_pkt_answer(packet);
    for (std::size_t i = 0; i < ldns_rr_list_rr_count(records); ++i) {
      const ldns_rr* rr = ldns_rr_list_rr(records, i);
      if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_CNAME || ldns_rr_rd_count(rr) != 1) continue;
      char* text = ldns_rdf2str(ldns_rr_rdf(rr, 0));
      std::string target = text != nullptr ? text : "";
      LDNS_FREE(text);
      while (target.ends_with('.')) target.pop_back();
      for (char& c : target) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      lookup = {CnameLookup::Outcome::Alias, std::move(target), ""};
      break;
    }
    ldns_pkt_free(packet);
    return lookup;
  }

  static TxtLookup to_lookup(int status, const unsigned char* answer, int length) {
    TxtLookup lookup;
    if (status == ARES_ENOTFOUND) return {TxtLookup::Outcome::NoRecords, {}, "NXDOMAIN"};
    if (status == ARES_ENODATA) return {TxtLookup::Outcome::NoRecords, {}, "no TXT record (NODATA)"};
    if (status != ARES_SUCCESS)
      return {TxtLookup::Outcome::Failed, {}, std::string("DNS lookup failed: ") + ares_strerror(status)};

    ares_txt_ext* txt = nullptr;
    const int parsed = ares_parse_txt_reply_ext(answer, length, &txt);
    if (parsed == ARES_ENODATA) return {TxtLookup::Outcome::NoRecords, {}, "no TXT record (NODATA)"};
    if (parsed != ARES_SUCCESS) {
      return {TxtLookup::Outcome::Failed, {}, std::string("bad DNS answer: ") + ares_strerror(parsed)};
    }
    // One record's character-strings arrive as consecutive nodes; record_start marks each record's first.
    for (const ares_txt_ext* node = txt; node != nullptr; node = node->next) {
      if (node->record_start || lookup.records.empty()) lookup.records.emplace_back();
      lookup.records.back().append(reinterpret_cast<const char*>(node->txt), node->length);
    }
    ares_free_data(txt);
    lookup.outcome = lookup.records.empty() ? TxtLookup::Outcome::NoRecords : TxtLookup::Outcome::Records;
    return lookup;
  }

  // Called by c-ares (on the strand, inside ares_query/ares_process_fd) when a socket opens, changes
  // interest, or is about to be closed (readable = writable = 0).
  static void on_socket_state(void* data, ares_socket_t fd, int readable, int writable) {
    auto* self = static_cast<AresResolver*>(data);
    auto found = self->sockets_.find(fd);
    if (!readable && !writable) {
      if (found == self->sockets_.end()) return;
      found->second->closed = true;
      // c-ares closes the fd itself: hand it back without closing, which also aborts our waits.
      (void)found->second->descriptor.release();
      self->sockets_.erase(found);
      return;
    }
    if (found == self->sockets_.end()) {
      found = self->sockets_.emplace(fd, std::make_shared<SocketWatch>(self->strand_, fd)).first;
    }
    found->second->want_read = readable != 0;
    found->second->want_write = writable != 0;
    if (self->destroying_) return;
    self->arm_socket(fd, found->second);
  }

  void arm_socket(ares_socket_t fd, const std::shared_ptr<SocketWatch>& watch) {
    if (watch->closed || stopped_) return;
    if (watch->want_read && !watch->read_pending) {
      watch->read_pending = true;
      watch->descriptor.async_wait(asio::posix::stream_descriptor::wait_read,
                                   asio::bind_executor(strand_, [self = shared_from_this(), fd, watch](auto ec) {
                                     watch->read_pending = false;
                                     if (ec || watch->closed) return;
                                     ares_process_fd(self->channel_, fd, ARES_SOCKET_BAD);
                                     self->after_activity(fd, watch);
                                   }));
    }
    if (watch->want_write && !watch->write_pending) {
      watch->write_pending = true;
      watch->descriptor.async_wait(asio::posix::stream_descriptor::wait_write,
                                   asio::bind_executor(strand_, [self = shared_from_this(), fd, watch](auto ec) {
                                     watch->write_pending = false;
                                     if (ec || watch->closed) return;
                                     ares_process_fd(self->channel_, ARES_SOCKET_BAD, fd);
                                     self->after_activity(fd, watch);
                                   }));
    }
  }

  void after_activity(ares_socket_t fd, const std::shared_ptr<SocketWatch>& watch) {
    arm_socket(fd, watch);
    arm_timer();
  }

  void arm_timer() {
    if (stopped_) return;
    timeval wait{};
    if (ares_timeout(channel_, nullptr, &wait) == nullptr) {
      timer_.cancel();
      return;
    }
    timer_.expires_after(std::chrono::seconds(wait.tv_sec) + std::chrono::microseconds(wait.tv_usec) +
                         std::chrono::milliseconds(1));
    timer_.async_wait(asio::bind_executor(strand_, [self = shared_from_this()](auto ec) {
      if (ec) return;
      ares_process_fd(self->channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // handles expired queries
      self->arm_timer();
    }));
  }

  asio::io_context& io_;
  Strand strand_;
  asio::steady_timer timer_;
  ares_channel channel_ = nullptr;
  std::map<ares_socket_t, std::shared_ptr<SocketWatch>> sockets_;
  bool stopped_ = false;
  bool destroying_ = false;
};

}  // namespace

Result<std::shared_ptr<Resolver>> Resolver::create(boost::asio::io_context& io, const ResolverSettings& settings) {
  auto resolver = std::make_shared<AresResolver>(io);
  if (auto ok = resolver->init(settings); !ok) return ok.error();
  return std::shared_ptr<Resolver>(std::move(resolver));
}

}  // namespace dkr::dns
