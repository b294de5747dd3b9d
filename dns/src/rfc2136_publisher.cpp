#include "dns/rfc2136_publisher.hpp"

#include "ldns.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

namespace dkr::dns {
namespace {

// ldns objects owned by unique_ptr.
struct RdfFree {
  void operator()(ldns_rdf* rdf) const { ldns_rdf_deep_free(rdf); }
};
struct PktFree {
  void operator()(ldns_pkt* pkt) const { ldns_pkt_free(pkt); }
};
struct ResolverFree {
  void operator()(ldns_resolver* res) const { ldns_resolver_deep_free(res); }
};
struct RrListFree {
  void operator()(ldns_rr_list* list) const { ldns_rr_list_deep_free(list); }
};
using Rdf = std::unique_ptr<ldns_rdf, RdfFree>;
using Pkt = std::unique_ptr<ldns_pkt, PktFree>;
using Resolver = std::unique_ptr<ldns_resolver, ResolverFree>;
using RrList = std::unique_ptr<ldns_rr_list, RrListFree>;

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string without_dot(std::string_view name) {
  while (name.ends_with('.')) name.remove_suffix(1);
  return std::string(name);
}

// What one exchange with the server gave: a reply with NOERROR, or why not.
struct Exchange {
  Pkt reply;
  std::string rcode;  // empty when the exchange succeeded
  std::string detail;
};

std::string rcode_name(ldns_pkt_rcode rcode) {
  const ldns_lookup_table* entry = ldns_lookup_by_id(ldns_rcodes, static_cast<int>(rcode));
  return entry != nullptr ? entry->name : "RCODE" + std::to_string(static_cast<int>(rcode));
}

// RFC 8945 5.2: a TSIG error comes back as NOTAUTH with the reason in the TSIG record.
std::optional<std::string> tsig_error(const ldns_pkt* reply) {
  const ldns_rr* tsig = ldns_pkt_tsig(reply);
  if (tsig == nullptr || ldns_rr_rd_count(tsig) < 6) return std::nullopt;
  const ldns_rdf* error = ldns_rr_rdf(tsig, 5);
  if (error == nullptr || ldns_rdf_size(error) != 2) return std::nullopt;
  switch (ldns_rdf2native_int16(error)) {
    case 0:
      return std::nullopt;
    case 16:
      return "BADSIG";
    case 17:
      return "BADKEY";
    case 18:
      return "BADTIME";
    case 22:
      return "BADTRUNC";
    default:
      return "TSIG" + std::to_string(ldns_rdf2native_int16(error));
  }
}

// A TXT record's value as presentation text: 255-byte quoted strings, `"` and `\` escaped, bytes
// outside printable ASCII as \DDD (RFC 1035 5.1).
std::string txt_presentation(std::string_view text) {
  std::string out;
  std::size_t i = 0;
  do {
    const auto chunk = text.substr(i, 255);
    out += out.empty() ? "\"" : " \"";
    for (unsigned char c : chunk) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c < 0x20 || c >= 0x7f) {
        char escaped[5];
        std::snprintf(escaped, sizeof escaped, "\\%03u", static_cast<unsigned>(c));
        out += escaped;
      } else {
        out += static_cast<char>(c);
      }
    }
    out += '"';
    i += 255;
  } while (i < text.size());
  return out;
}

// The character-strings of a TXT record, joined.
std::string txt_value(const ldns_rr* rr) {
  std::string value;
  for (std::size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
    const ldns_rdf* rdf = ldns_rr_rdf(rr, i);
    const std::uint8_t* data = ldns_rdf_data(rdf);
    const std::size_t size = ldns_rdf_size(rdf);
    if (size == 0) continue;
    const std::size_t length = std::min<std::size_t>(data[0], size - 1);
    value.append(reinterpret_cast<const char*>(data + 1), length);
  }
  return value;
}

std::string dname_text(const ldns_rdf* rdf) {
  char* text = ldns_rdf2str(rdf);
  std::string out = text != nullptr ? text : "?";
  LDNS_FREE(text);
  return out;
}

std::vector<std::string> sorted(std::vector<std::string> values) {
  std::sort(values.begin(), values.end());
  return values;
}

bool holds_exactly(const std::vector<std::string>& found, std::string_view text) {
  return found.size() == 1 && found.front() == text;
}

PublishResult failed(std::string rcode, std::string detail) {
  return {PublishResult::Outcome::Failed, {}, std::move(rcode), std::move(detail)};
}

class Session {
 public:
  explicit Session(const Rfc2136Settings& settings) : settings_(settings) {}

  // The resolver for one operation: the primary only, TCP (a key record does not fit the 512 bytes of
  // plain UDP, and a refused connection answers at once when the server is down), one try.
  Result<void> open() {
    resolver_.reset(ldns_resolver_new());
    if (!resolver_) return make_error("ldns: out of memory");
    const bool v6 = settings_.server.find(':') != std::string::npos;
    Rdf address(ldns_rdf_new_frm_str(v6 ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, settings_.server.c_str()));
    if (!address) return make_error("not an IP address: " + settings_.server);
    if (ldns_resolver_push_nameserver(resolver_.get(), address.get()) != LDNS_STATUS_OK) {
      return make_error("ldns: cannot use server " + settings_.server);
    }
    ldns_resolver_set_port(resolver_.get(), settings_.port);
    ldns_resolver_set_usevc(resolver_.get(), true);
    ldns_resolver_set_recursive(resolver_.get(), false);
    ldns_resolver_set_retry(resolver_.get(), 1);
    ldns_resolver_set_retrans(resolver_.get(), 0);
    ldns_resolver_set_fail(resolver_.get(), true);
    timeval timeout{};
    timeout.tv_sec = static_cast<long>(settings_.timeout.count() / 1000);
    timeout.tv_usec = static_cast<long>((settings_.timeout.count() % 1000) * 1000);
    ldns_resolver_set_timeout(resolver_.get(), timeout);
    // ldns copies the strings (and frees its copies with the resolver).
    key_name_ = without_dot(settings_.key.name) + ".";
    algorithm_ = settings_.key.algorithm + ".";
    ldns_resolver_set_tsig_keyname(resolver_.get(), key_name_.c_str());
    ldns_resolver_set_tsig_algorithm(resolver_.get(), algorithm_.c_str());
    ldns_resolver_set_tsig_keydata(resolver_.get(), settings_.key.secret.c_str());
    return {};
  }

  // The TXT values at `name`; a CNAME there counts as "CNAME target.".
  struct Found {
    bool ok = false;
    std::vector<std::string> records;
    std::string rcode;
    std::string detail;
  };

  Found read(const std::string& name) {
    Found found;
    Rdf owner(ldns_dname_new_frm_str((name + ".").c_str()));
    if (!owner) return {false, {}, "invalid", "not a domain name: " + name};
    Pkt query(ldns_pkt_query_new(ldns_rdf_clone(owner.get()), LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_IN, 0));
    if (!query) return {false, {}, "internal", "ldns: cannot build a query"};
    ldns_pkt_set_random_id(query.get());
    Exchange exchange = send(query.get(), "TXT query for " + name);
    if (!exchange.rcode.empty() && exchange.rcode != "NXDOMAIN") {
      return {false, {}, exchange.rcode, exchange.detail};
    }
    found.ok = true;
    if (!exchange.reply) return found;
    const ldns_rr_list* answer = ldns_pkt_answer(exchange.reply.get());
    for (std::size_t i = 0; i < ldns_rr_list_rr_count(answer); ++i) {
      const ldns_rr* rr = ldns_rr_list_rr(answer, i);
      if (ldns_dname_compare(ldns_rr_owner(rr), owner.get()) != 0) continue;
      if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_TXT) found.records.push_back(txt_value(rr));
      if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME && ldns_rr_rd_count(rr) == 1) {
        found.records.push_back("CNAME " + dname_text(ldns_rr_rdf(rr, 0)));
      }
    }
    return found;
  }

  // One UPDATE of the zone: prerequisites, then updates. NOERROR -> the change happened.
  Exchange update(RrList prerequisites, RrList updates, const std::string& what, const std::string& name) {
    if (settings_.before_update) settings_.before_update(name);
    Rdf zone(ldns_dname_new_frm_str((without_dot(settings_.zone) + ".").c_str()));
    if (!zone) return {nullptr, "invalid", "not a zone name: " + settings_.zone};
    // ldns_update_pkt_new takes the zone name and copies the lists.
    Pkt packet(ldns_update_pkt_new(zone.release(), LDNS_RR_CLASS_IN, prerequisites.get(), updates.get(), nullptr));
    if (!packet) return {nullptr, "internal", "ldns: cannot build an UPDATE"};
    ldns_pkt_set_rd(packet.get(), false);  // ldns sets it; in an UPDATE that bit is reserved (Z)
    ldns_pkt_set_random_id(packet.get());
    if (const ldns_status signed_ok = ldns_update_pkt_tsig_add(packet.get(), resolver_.get());
        signed_ok != LDNS_STATUS_OK) {
      return {nullptr, "internal",
              "cannot sign the UPDATE with TSIG: " + std::string(ldns_get_errorstr_by_id(signed_ok))};
    }
    return send(packet.get(), what);
  }

  // A TXT record `name ttl IN TXT "value"`, parsed by ldns from presentation text.
  ldns_rr* txt_rr(const std::string& name, std::uint32_t ttl, std::string_view value) {
    ldns_rr* rr = nullptr;
    const std::string text = name + ". " + std::to_string(ttl) + " IN TXT " + txt_presentation(value);
    if (ldns_rr_new_frm_str(&rr, text.c_str(), 0, nullptr, nullptr) != LDNS_STATUS_OK) return nullptr;
    return rr;
  }

  // A record with no RDATA: RFC 2136's "RRset does not exist" (class NONE) or "delete RRset" (ANY).
  ldns_rr* empty_rr(const std::string& name, ldns_rr_class rr_class) {
    ldns_rdf* owner = ldns_dname_new_frm_str((name + ".").c_str());
    if (owner == nullptr) return nullptr;
    ldns_rr* rr = ldns_rr_new();
    ldns_rr_set_owner(rr, owner);
    ldns_rr_set_type(rr, LDNS_RR_TYPE_TXT);
    ldns_rr_set_class(rr, rr_class);
    ldns_rr_set_ttl(rr, 0);
    return rr;
  }

 private:
  Exchange send(ldns_pkt* packet, const std::string& what) {
    ldns_pkt* raw_reply = nullptr;
    const ldns_status status = ldns_send(&raw_reply, resolver_.get(), packet);
    Pkt reply(raw_reply);
    if (!reply) {
      return {nullptr, "transport",
              what + ": no answer from " + settings_.server + ":" + std::to_string(settings_.port) + " (" +
                  ldns_get_errorstr_by_id(status) + ")"};
    }
    const ldns_pkt_rcode rcode = ldns_pkt_get_rcode(reply.get());
    if (rcode != LDNS_RCODE_NOERROR) {
      std::string name = rcode_name(rcode);
      std::string detail = what + ": the server answered " + name;
      if (auto tsig = tsig_error(reply.get())) {
        detail += " (TSIG error " + *tsig + ")";
        name = *tsig;
      }
      return {std::move(reply), std::move(name), std::move(detail)};
    }
    if (status == LDNS_STATUS_CRYPTO_TSIG_BOGUS) {
      return {nullptr, "TSIG", what + ": the server's answer carries no valid TSIG signature"};
    }
    return {std::move(reply), "", ""};
  }

  const Rfc2136Settings& settings_;
  Resolver resolver_;
  std::string key_name_;
  std::string algorithm_;
};

}  // namespace

std::string_view to_string(PublishResult::Outcome outcome) {
  switch (outcome) {
    case PublishResult::Outcome::Changed:
      return "changed";
    case PublishResult::Outcome::AlreadySo:
      return "already so";
    case PublishResult::Outcome::Conflict:
      return "conflict";
    case PublishResult::Outcome::Failed:
      return "failed";
  }
  return "failed";
}

std::string describe(const PublishResult& result) {
  std::string text = std::string(to_string(result.outcome));
  if (!result.detail.empty()) text += ": " + result.detail;
  if (result.outcome == PublishResult::Outcome::Conflict) {
    text += "; found ";
    if (result.found.empty()) text += "nothing";
    for (std::size_t i = 0; i < result.found.size(); ++i) text += (i ? ", \"" : "\"") + result.found[i] + "\"";
  }
  return text;
}

Result<std::unique_ptr<Rfc2136Publisher>> Rfc2136Publisher::create(Rfc2136Settings settings) {
  settings.zone = lower(without_dot(settings.zone));
  if (settings.zone.empty()) return make_error("dns.publish: no zone");
  if (settings.key.name.empty() || settings.key.secret.empty()) return make_error("dns.publish: no TSIG key");
  std::unique_ptr<Rfc2136Publisher> publisher(new Rfc2136Publisher(std::move(settings)));
  Session probe(publisher->settings_);
  if (auto opened = probe.open(); !opened) return make_error("dns.publish: " + opened.error().message);
  return publisher;
}

namespace {

// The checks every operation starts with: a name inside the zone, a session, what is there now.
struct Start {
  std::optional<PublishResult> done;  // set when the operation ends here
  std::vector<std::string> found;
};

}  // namespace

static Start begin(Session& session, const Rfc2136Settings& settings, const std::string& name) {
  if (name != settings.zone && !name.ends_with("." + settings.zone)) {
    return {failed("invalid", name + " is outside the zone " + settings.zone), {}};
  }
  if (auto opened = session.open(); !opened) return {failed("internal", opened.error().message), {}};
  auto found = session.read(name);
  if (!found.ok) return {failed(found.rcode, found.detail), {}};
  return {std::nullopt, std::move(found.records)};
}

// The UPDATE's answer: a failed prerequisite (someone changed the name since we read it) is a
// Conflict with what is there now.
static PublishResult finish(Session& session, const std::string& name, Exchange exchange, std::string done) {
  if (exchange.rcode.empty()) return {PublishResult::Outcome::Changed, {}, "", std::move(done)};
  if (exchange.rcode == "YXRRSET" || exchange.rcode == "NXRRSET") {
    auto now = session.read(name);
    return {PublishResult::Outcome::Conflict, now.records, "",
            name + " changed while we updated it (" + exchange.rcode + ")"};
  }
  return failed(exchange.rcode, exchange.detail);
}

PublishResult Rfc2136Publisher::publish(std::string_view name_view, std::string_view text) {
  const std::string name = lower(without_dot(name_view));
  Session session(settings_);
  Start start = begin(session, settings_, name);
  if (start.done) return *start.done;
  if (holds_exactly(start.found, text)) return {PublishResult::Outcome::AlreadySo, {}, "", name + " already holds it"};
  if (!start.found.empty()) {
    return {PublishResult::Outcome::Conflict, start.found, "", name + " holds another record; not overwritten"};
  }
  RrList prerequisites(ldns_rr_list_new());
  RrList updates(ldns_rr_list_new());
  ldns_rr* absent = session.empty_rr(name, LDNS_RR_CLASS_NONE);
  ldns_rr* added = session.txt_rr(name, settings_.ttl, text);
  if (absent == nullptr || added == nullptr) {
    ldns_rr_free(absent);
    ldns_rr_free(added);
    return failed("invalid", "cannot build the record for " + name);
  }
  ldns_rr_list_push_rr(prerequisites.get(), absent);
  ldns_rr_list_push_rr(updates.get(), added);
  return finish(
      session, name,
      session.update(std::move(prerequisites), std::move(updates), "UPDATE adding the TXT record of " + name, name),
      "published " + name);
}

PublishResult Rfc2136Publisher::replace(std::string_view name_view, std::string_view expected, std::string_view text) {
  const std::string name = lower(without_dot(name_view));
  Session session(settings_);
  Start start = begin(session, settings_, name);
  if (start.done) return *start.done;
  if (holds_exactly(start.found, text)) return {PublishResult::Outcome::AlreadySo, {}, "", name + " already holds it"};
  if (!holds_exactly(start.found, expected)) {
    return {PublishResult::Outcome::Conflict, start.found, "",
            name + " does not hold the record we published; not overwritten"};
  }
  RrList prerequisites(ldns_rr_list_new());
  RrList updates(ldns_rr_list_new());
  ldns_rr* present = session.txt_rr(name, 0, expected);  // value-dependent "RRset exists" (RFC 2136 2.4.2)
  ldns_rr* cleared = session.empty_rr(name, LDNS_RR_CLASS_ANY);
  ldns_rr* added = session.txt_rr(name, settings_.ttl, text);
  if (present == nullptr || cleared == nullptr || added == nullptr) {
    ldns_rr_free(present);
    ldns_rr_free(cleared);
    ldns_rr_free(added);
    return failed("invalid", "cannot build the records for " + name);
  }
  ldns_rr_list_push_rr(prerequisites.get(), present);
  ldns_rr_list_push_rr(updates.get(), cleared);
  ldns_rr_list_push_rr(updates.get(), added);
  return finish(
      session, name,
      session.update(std::move(prerequisites), std::move(updates), "UPDATE replacing the TXT record of " + name, name),
      (text == kRevokedRecord ? "revoked " : "replaced ") + name);
}

PublishResult Rfc2136Publisher::remove(std::string_view name_view, std::string_view expected) {
  const std::string name = lower(without_dot(name_view));
  Session session(settings_);
  Start start = begin(session, settings_, name);
  if (start.done) return *start.done;
  if (start.found.empty()) return {PublishResult::Outcome::AlreadySo, {}, "", name + " holds nothing already"};
  if (!holds_exactly(start.found, expected)) {
    return {PublishResult::Outcome::Conflict, start.found, "",
            name + " does not hold the record we published; not deleted"};
  }
  RrList prerequisites(ldns_rr_list_new());
  RrList updates(ldns_rr_list_new());
  ldns_rr* present = session.txt_rr(name, 0, expected);
  ldns_rr* cleared = session.empty_rr(name, LDNS_RR_CLASS_ANY);
  if (present == nullptr || cleared == nullptr) {
    ldns_rr_free(present);
    ldns_rr_free(cleared);
    return failed("invalid", "cannot build the records for " + name);
  }
  ldns_rr_list_push_rr(prerequisites.get(), present);
  ldns_rr_list_push_rr(updates.get(), cleared);
  return finish(
      session, name,
      session.update(std::move(prerequisites), std::move(updates), "UPDATE deleting the TXT record of " + name, name),
      "deleted " + name);
}

PublishResult Rfc2136Publisher::probe() {
  Session session(settings_);
  if (auto opened = session.open(); !opened) return failed("internal", opened.error().message);
  ldns_rr* apex = session.empty_rr(settings_.zone, LDNS_RR_CLASS_ANY);  // "RRset exists" (RFC 2136 2.4.1)
  if (apex == nullptr) return failed("invalid", "not a zone name: " + settings_.zone);
  ldns_rr_set_type(apex, LDNS_RR_TYPE_SOA);
  RrList prerequisites(ldns_rr_list_new());
  ldns_rr_list_push_rr(prerequisites.get(), apex);
  Exchange exchange =
      session.update(std::move(prerequisites), RrList(ldns_rr_list_new()), "UPDATE probing " + settings_.zone, "");
  if (!exchange.rcode.empty()) return failed(exchange.rcode, exchange.detail);
  return {PublishResult::Outcome::AlreadySo,
          {},
          "",
          settings_.zone + " on " + settings_.server + ":" + std::to_string(settings_.port) + " accepts our updates"};
}

Result<std::vector<std::string>> Rfc2136Publisher::records_at(std::string_view name_view) const {
  Session session(settings_);
  if (auto opened = session.open(); !opened) return opened.error();
  auto found = session.read(lower(without_dot(name_view)));
  if (!found.ok) return make_error(found.rcode + ": " + found.detail);
  return sorted(std::move(found.records));
}

}  // namespace dkr::dns
