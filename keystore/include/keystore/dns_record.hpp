#pragma once
// Renders the DNS records an operator publishes for a selector.
#include <string>
#include <string_view>
#include <vector>

namespace dkr::keystore {

inline constexpr int kDefaultDnsTtl = 3600;
// RFC 6376 §3.6.1: an empty p= tells verifiers the key was revoked.
inline constexpr std::string_view kRevokedKeyRecord = "v=DKIM1; p=";

// "<selector>._domainkey.<domain>." (absolute owner name of the key record).
std::string key_record_name(std::string_view domain, std::string_view selector);

// Splits a TXT value into character-strings of at most 255 bytes (RFC 1035 §3.3).
std::vector<std::string> split_txt_value(std::string_view value);

// `S._domainkey.D. 3600 IN TXT ( "chunk1" "chunk2" )` for a zone file.
std::string zone_file_txt_line(std::string_view domain, std::string_view selector, std::string_view txt_value,
                               int ttl = kDefaultDnsTtl);

// ESP-style delegation: the customer publishes a CNAME into the operator's delegation zone and
// the operator hosts the key record there, so the operator can rotate keys without the customer.
struct DelegatedRecords {
  std::string target_name;     // "S.customer.com.dkim.esp.example."
  std::string customer_cname;  // "S._domainkey.customer.com. 3600 IN CNAME S.customer.com.dkim.esp.example."
  std::string operator_txt;    // "S.customer.com.dkim.esp.example. 3600 IN TXT ( ... )"
};
DelegatedRecords delegated_records(std::string_view domain, std::string_view selector, std::string_view txt_value,
                                   std::string_view delegation_zone, int ttl = kDefaultDnsTtl);

}  // namespace dkr::keystore
