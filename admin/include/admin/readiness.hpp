#pragma once
// Whether a domain is ready to send mail that passes DMARC: its active DKIM key is published, a DMARC
// record exists, and our d= aligns with the From domain under the record's adkim= mode. SPF is
// looked up for information only (the relay does not choose the envelope sender).
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "dns/resolver.hpp"
#include "common/result.hpp"

namespace dkr::admin {

// The tags of a DMARC record (RFC 7489 §6.3) that decide policy and DKIM alignment.
struct DmarcRecord {
  std::string p;             // none / quarantine / reject
  std::string sp;            // subdomain policy; empty when absent (then p applies)
  bool strict_dkim = false;  // adkim=s; relaxed (r) by default
};

// Parses one TXT value; an error says why it is not a usable DMARC record.
Result<DmarcRecord> parse_dmarc(std::string_view record);

// RFC 7489 §3.1.1 for the relay's case, where d= is the From domain or one of its parents: strict
// needs the same name, relaxed the same organizational domain, which a parent shares unless it is a
// public suffix (the key store refuses none; we do not carry a public suffix list).
bool dkim_aligned(std::string_view signing_domain, std::string_view from_domain, bool strict);

struct ReadinessQuery {
  std::string domain;                   // the key store domain, our d=
  std::string from_domain;              // the From domain judged (the domain itself or a subdomain)
  std::optional<std::string> selector;  // the active selector, if any
  std::string expected_record;          // its TXT value
};

// Runs the lookups in parallel and calls `done` once, on the resolver's io_context, with the JSON
// body of GET /v1/domains/{domain}/readiness.
void check_readiness(const std::shared_ptr<dns::Resolver>& resolver, ReadinessQuery query,
                     std::function<void(nlohmann::json)> done);

}  // namespace dkr::admin
