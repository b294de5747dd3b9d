#pragma once
// "Does NAME serve this public key?", the proof a staged key needs before it signs mail: DNS must
// answer with a DKIM record whose p= is byte-identical to the key's public key (whitespace inside
// the p= value aside, which RFC 6376 3.2 allows), and with no other DKIM key at the name.
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dns/resolver.hpp"

namespace dkr::dns {

struct KeyProof {
  enum class Outcome {
    Proven,    // every DKIM record at the name carries the key (one at least)
    Missing,   // no record at the name (NXDOMAIN, NODATA)
    Mismatch,  // records, but not (only) this key: `found`
    Failed,    // the lookup failed: `detail`
  };
  Outcome outcome = Outcome::Failed;
  std::vector<std::string> found;  // Mismatch: the TXT records served
  std::string detail;              // for people: what was found or what failed
};

std::string_view to_string(KeyProof::Outcome outcome);  // "proven", "missing", "mismatch", "failed"

// The decision alone, from a lookup already made. `public_key` is the base64 of the key (the p=
// value we publish); whitespace in it is ignored.
KeyProof judge_key_proof(const TxtLookup& lookup, std::string_view public_key);

// Looks `name` up (following CNAMEs, as verifiers do) and judges it. `done` runs on the resolver's
// io_context, exactly once.
void prove_key(const std::shared_ptr<Resolver>& resolver, std::string name, std::string public_key,
               std::function<void(KeyProof)> done);

}  // namespace dkr::dns
