#include "dns/key_proof.hpp"

#include <optional>

#include "dns/dkim_record.hpp"

namespace dkr::dns {
namespace {

std::string compact(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') out += c;
  }
  return out;
}

std::string quoted_list(const std::vector<std::string>& records) {
  std::string out;
  for (const auto& record : records) out += (out.empty() ? "\"" : ", \"") + record + "\"";
  return out;
}

}  // namespace

std::string_view to_string(KeyProof::Outcome outcome) {
  switch (outcome) {
    case KeyProof::Outcome::Proven:
      return "proven";
    case KeyProof::Outcome::Missing:
      return "missing";
    case KeyProof::Outcome::Mismatch:
      return "mismatch";
    case KeyProof::Outcome::Failed:
      return "failed";
  }
  return "failed";
}

KeyProof judge_key_proof(const TxtLookup& lookup, std::string_view public_key) {
  switch (lookup.outcome) {
    case TxtLookup::Outcome::Failed:
      return {KeyProof::Outcome::Failed, {}, lookup.error.empty() ? "DNS lookup failed" : lookup.error};
    case TxtLookup::Outcome::NoRecords:
      return {KeyProof::Outcome::Missing, {}, lookup.error.empty() ? "no TXT record" : lookup.error};
    case TxtLookup::Outcome::Records:
      break;
  }
  const std::string expected = compact(public_key);
  if (expected.empty()) return {KeyProof::Outcome::Failed, {}, "no public key to look for"};
  int ours = 0;
  int others = 0;
  for (const auto& record : lookup.records) {
    const std::optional<std::string> key = dkim_public_key(record);
    if (!key) continue;  // not a DKIM key record: verifiers skip it too
    ++(*key == expected ? ours : others);
  }
  if (ours > 0 && others == 0) return {KeyProof::Outcome::Proven, {}, "DNS serves this key"};
  std::string why = ours > 0     ? "DNS serves this key and another DKIM key at the same name"
                    : others > 0 ? "DNS serves another DKIM key"
                                 : "no DKIM key record among the TXT records";
  return {KeyProof::Outcome::Mismatch, lookup.records, why + ": " + quoted_list(lookup.records)};
}

void prove_key(const std::shared_ptr<Resolver>& resolver, std::string name, std::string public_key,
               std::function<void(KeyProof)> done) {
  if (!resolver) {
    done(KeyProof{KeyProof::Outcome::Failed, {}, "no DNS resolver available"});
    return;
  }
  resolver->resolve_txt(std::move(name), [key = std::move(public_key), done = std::move(done)](TxtLookup lookup) {
    done(judge_key_proof(lookup, key));
  });
}

}  // namespace dkr::dns
