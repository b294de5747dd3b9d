#include "admin/readiness.hpp"

#include <algorithm>
#include <mutex>
#include <vector>

#include "dns/dkim_record.hpp"
#include "dns/publication.hpp"
#include "common/ascii.hpp"

namespace dkr::admin {

using dns::check_publication;
using dns::dkim_record_name;
using dns::PublicationCheck;
using dns::TxtLookup;
namespace {

using nlohmann::json;

bool starts_with_tag(std::string_view record, std::string_view version) {
  const std::string_view text = trim_blanks(record);
  return text.size() >= version.size() && lowercase(text.substr(0, version.size())) == lowercase(version) &&
         (text.size() == version.size() || text[version.size()] == ';' || text[version.size()] == ' ' ||
          text[version.size()] == '\t');
}

// The records at a name that start with `version` ("v=DMARC1", "v=spf1").
std::vector<std::string> records_of(const TxtLookup& lookup, std::string_view version) {
  std::vector<std::string> found;
  for (const auto& record : lookup.records) {
    if (starts_with_tag(record, version)) found.push_back(record);
  }
  return found;
}

json lookup_failure(const TxtLookup& lookup) {
  return {{"status", "error"}, {"record", nullptr}, {"detail", lookup.error}};
}

json dkim_json(const ReadinessQuery& query, const TxtLookup* lookup) {
  if (!query.selector) {
    return {{"selector", nullptr},
            {"name", nullptr},
            {"status", "no_active_key"},
            {"detail", "the domain has no active key: activate one"}};
  }
  const PublicationCheck check = check_publication(*lookup, query.expected_record);
  return {{"selector", *query.selector},
          {"name", dkim_record_name(*query.selector, query.domain)},
          {"status", to_string(check.status)},
          {"detail", check.detail}};
}

json spf_json(const std::string& name, const TxtLookup& lookup) {
  json out = {{"name", name}};
  if (lookup.outcome == TxtLookup::Outcome::Failed) {
    out.update(lookup_failure(lookup));
    return out;
  }
  const auto spf = records_of(lookup, "v=spf1");
  if (spf.empty()) {
    out.update({{"status", "missing"}, {"record", nullptr}, {"detail", "no SPF record"}});
  } else if (spf.size() > 1) {
    out.update({{"status", "error"}, {"record", spf.front()}, {"detail", "more than one SPF record (RFC 7208 §4.5)"}});
  } else {
    out.update({{"status", "present"}, {"record", spf.front()}, {"detail", "SPF record published"}});
  }
  return out;
}

struct DmarcAnswer {
  std::string name;  // where the record was looked up last
  TxtLookup lookup;
  bool inherited = false;  // found at the signing domain for a subdomain From: sp= applies
};

json dmarc_json(const ReadinessQuery& query, const DmarcAnswer& answer) {
  json out = {{"name", answer.name},
              {"p", nullptr},
              {"sp", nullptr},
              {"policy", nullptr},
              {"adkim", "r"},
              {"alignment", "relaxed"},
              {"inherited", answer.inherited}};
  bool strict = false;
  if (answer.lookup.outcome == TxtLookup::Outcome::Failed) {
    out.update(lookup_failure(answer.lookup));
  } else {
    const auto dmarc = records_of(answer.lookup, "v=DMARC1");
    if (dmarc.empty()) {
      out.update({{"status", "missing"},
                  {"record", nullptr},
                  {"detail", "no DMARC record: receivers apply no policy, and DKIM alone does not protect From"}});
    } else if (dmarc.size() > 1) {
      out.update({{"status", "invalid"},
                  {"record", dmarc.front()},
                  {"detail", "more than one DMARC record: receivers ignore them all (RFC 7489 §6.6.3)"}});
    } else if (auto parsed = parse_dmarc(dmarc.front()); !parsed) {
      out.update({{"status", "invalid"}, {"record", dmarc.front()}, {"detail", parsed.error().message}});
    } else {
      strict = parsed->strict_dkim;
      const std::string policy = answer.inherited && !parsed->sp.empty() ? parsed->sp : parsed->p;
      out.update({{"status", "present"},
                  {"record", dmarc.front()},
                  {"p", parsed->p},
                  {"sp", parsed->sp.empty() ? json(nullptr) : json(parsed->sp)},
                  {"policy", policy},
                  {"adkim", strict ? "s" : "r"},
                  {"alignment", strict ? "strict" : "relaxed"},
                  {"detail", "policy " + policy + " for " + query.from_domain}});
    }
  }
  const bool aligned = dkim_aligned(query.domain, query.from_domain, strict);
  out["aligned"] = aligned;
  out["alignment_detail"] = "d=" + query.domain + (aligned ? " aligns with " : " does not align with ") +
                            "From domain " + query.from_domain + " (" + (strict ? "strict" : "relaxed") +
                            (strict && !aligned ? ": adkim=s needs d= to equal the From domain)" : ")");
  return out;
}

}  // namespace

Result<DmarcRecord> parse_dmarc(std::string_view record) {
  DmarcRecord out;
  bool first = true;
  bool have_p = false;
  std::string_view rest = record;
  while (!rest.empty()) {
    const auto semicolon = rest.find(';');
    const std::string_view part = trim_blanks(rest.substr(0, semicolon));
    rest = semicolon == std::string_view::npos ? std::string_view{} : rest.substr(semicolon + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    if (eq == std::string_view::npos)
      return make_error(ErrorCode::invalid, "DMARC tag without '=': " + std::string(part));
    const std::string tag = lowercase(trim_blanks(part.substr(0, eq)));
    const std::string value = lowercase(trim_blanks(part.substr(eq + 1)));
    if (first) {
      if (tag != "v" || value != "dmarc1")
        return make_error(ErrorCode::invalid, "DMARC record must start with v=DMARC1");
      first = false;
      continue;
    }
    if (tag == "p" || tag == "sp") {
      if (value != "none" && value != "quarantine" && value != "reject") {
        return make_error(ErrorCode::invalid,
                          "DMARC " + tag + "= must be none, quarantine or reject, not '" + value + "'");
      }
      (tag == "p" ? out.p : out.sp) = value;
      have_p = have_p || tag == "p";
    } else if (tag == "adkim") {
      if (value != "r" && value != "s")
        return make_error(ErrorCode::invalid, "DMARC adkim= must be r or s, not '" + value + "'");
      out.strict_dkim = value == "s";
    }
  }
  if (first) return make_error(ErrorCode::invalid, "empty DMARC record");
  if (!have_p) return make_error(ErrorCode::invalid, "DMARC record has no p= tag");
  return out;
}

bool dkim_aligned(std::string_view signing_domain, std::string_view from_domain, bool strict) {
  std::string d = lowercase(signing_domain);
  std::string from = lowercase(from_domain);
  if (!d.empty() && d.back() == '.') d.pop_back();
  if (!from.empty() && from.back() == '.') from.pop_back();
  if (d.empty() || from.empty()) return false;
  if (d == from) return true;
  if (strict) return false;
  return from.size() > d.size() && from.compare(from.size() - d.size(), d.size(), d) == 0 &&
         from[from.size() - d.size() - 1] == '.';
}

void check_readiness(const std::shared_ptr<dns::Resolver>& resolver, ReadinessQuery query,
                     std::function<void(nlohmann::json)> done) {
  // Three answers arrive on the resolver's thread in any order; the last one answers.
  struct Gather {
    std::mutex mutex;
    ReadinessQuery query;
    std::optional<TxtLookup> dkim;
    std::optional<TxtLookup> spf;
    std::optional<DmarcAnswer> dmarc;
    int remaining = 3;
    std::function<void(json)> done;
  };
  auto gather = std::make_shared<Gather>();
  gather->query = std::move(query);
  gather->done = std::move(done);

  auto finish_one = [gather](auto store) {
    std::unique_lock lock(gather->mutex);
    store(*gather);
    if (--gather->remaining != 0) return;
    const ReadinessQuery& q = gather->query;
    json dkim = dkim_json(q, gather->dkim ? &*gather->dkim : nullptr);
    json dmarc = dmarc_json(q, *gather->dmarc);
    json spf = spf_json(q.domain, *gather->spf);
    const bool ready = dkim["status"] == "published" && dmarc["status"] == "present" && dmarc["aligned"] == true;
    json body = {{"domain", q.domain},      {"from_domain", q.from_domain}, {"ready", ready},
                 {"dkim", std::move(dkim)}, {"dmarc", std::move(dmarc)},    {"spf", std::move(spf)}};
    auto callback = std::move(gather->done);
    lock.unlock();
    callback(std::move(body));
  };

  const auto lookup = [resolver](std::string name, dns::Resolver::Callback callback) {
    if (!resolver) return callback(TxtLookup{TxtLookup::Outcome::Failed, {}, "no DNS resolver available"});
    resolver->resolve_txt(std::move(name), std::move(callback));
  };

  const ReadinessQuery& q = gather->query;
  if (q.selector) {
    lookup(dkim_record_name(*q.selector, q.domain),
           [finish_one](TxtLookup result) { finish_one([&](Gather& g) { g.dkim = std::move(result); }); });
  } else {
    finish_one([](Gather&) {});
  }
  lookup(q.domain, [finish_one](TxtLookup result) { finish_one([&](Gather& g) { g.spf = std::move(result); }); });

  // RFC 7489 §6.6.3 falls back from the From domain to its organizational domain; without a public
  // suffix list we fall back to our d=, the parent the operator put in the key store.
  const std::string from_name = "_dmarc." + q.from_domain;
  const bool may_inherit = lowercase(q.from_domain) != lowercase(q.domain);
  lookup(from_name, [finish_one, lookup, from_name, may_inherit, parent = "_dmarc." + q.domain](TxtLookup result) {
    const bool none = result.outcome == TxtLookup::Outcome::NoRecords ||
                      (result.outcome == TxtLookup::Outcome::Records && records_of(result, "v=DMARC1").empty());
    if (may_inherit && none) {
      return lookup(parent, [finish_one, parent](TxtLookup inherited) {
        const bool found =
            inherited.outcome == TxtLookup::Outcome::Records && !records_of(inherited, "v=DMARC1").empty();
        finish_one([&](Gather& g) { g.dmarc = DmarcAnswer{parent, std::move(inherited), found}; });
      });
    }
    finish_one([&](Gather& g) { g.dmarc = DmarcAnswer{from_name, std::move(result), false}; });
  });
}

}  // namespace dkr::admin
