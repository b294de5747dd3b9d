#pragma once
// DKIM key records as DNS serves them: where to look them up and which key they carry. (Rendering
// records for publication is keystore/dns_record.hpp's job.)
#include <optional>
#include <string>
#include <string_view>

namespace dkr::dns {

// "<selector>._domainkey.<domain>" (no trailing dot).
std::string dkim_record_name(std::string_view selector, std::string_view domain);

// The p= value of a DKIM key record with whitespace removed, or nullopt when the text is not a
// DKIM key record (no p= tag, or a v= other than DKIM1). An empty p= (revoked key) is "".
std::optional<std::string> dkim_public_key(std::string_view txt_value);

}  // namespace dkr::dns
