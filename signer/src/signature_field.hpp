#pragma once
// Building the DKIM-Signature field text and the header data that its signature covers.
#include <string>
#include <string_view>
#include <vector>

#include "signer/algorithm.hpp"
#include "signer/message.hpp"

namespace dkr::signer {

// Appends the canonical form of the fields named in `signed_names` (h=), choosing instances from the
// bottom up (§5.4.2); names with no instance left contribute nothing.
void append_signed_headers(std::string& out, Canon canon, const std::vector<HeaderField>& headers,
                           const std::vector<std::string>& signed_names);

// The canonical form of a DKIM-Signature field as its own last input: no trailing CRLF.
std::string canonicalize_signature_field(Canon canon, std::string_view raw_field);
void append_canonical_signature_field(std::string& out, Canon canon, std::string_view raw_field);

// Folds tag specs into "DKIM-Signature: ..." lines of at most 78 columns, ending with an empty b=
// on a line of its own: the form that is signed.
struct SignatureTags {
  std::vector<std::string> plain;  // "v=1", "a=rsa-sha256", ... each kept whole on one line
  std::vector<std::string> header_names;
  std::string body_hash_b64;
};
std::string fold_signature_field(const SignatureTags& tags);
// Completes a field from fold_signature_field with the b= value, folded likewise.
void append_signature_value(std::string& field, std::string_view signature_b64);

// Removes the value of the b= tag from a DKIM-Signature field, keeping everything else as is.
std::string remove_b_tag_value(std::string_view raw_field);

}  // namespace dkr::signer
