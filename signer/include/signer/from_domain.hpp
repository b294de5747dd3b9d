#pragma once
// The domain that DKIM signs for: that of the single author address in the single From: field
// (RFC 5322 §3.6.2). Anything ambiguous is an error rather than a guess, because a receiver's DMARC
// check may read an ambiguous From: differently than we do (a known way to borrow another domain's
// alignment): no From:, two From: fields, several mailboxes, groups, unquoted "@" in a display name,
// address literals. Here in the signer, as OpenDKIM keeps its mail address parser
// (dkim-mailparse.c) in libopendkim.
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace dkr::signer {

// Parses the value of a From: field (after the colon, folding allowed) into its addresses
// ("local@domain", comments and display names removed, quoted local parts kept as written).
Result<std::vector<std::string>> parse_mailbox_list(std::string_view field_value);

// `header_section`: the message's header fields, CRLF line ends (the empty line may be included).
// Returns the lowercase domain of the single From: address.
Result<std::string> extract_from_domain(std::string_view header_section);

}  // namespace dkr::signer
