#include "keystore/dns_record.hpp"

namespace dkr::keystore {
namespace {

constexpr std::size_t kMaxCharacterString = 255;

std::string absolute(std::string_view name) {
  std::string out(name);
  if (out.empty() || out.back() != '.') out.push_back('.');
  return out;
}

std::string quoted_chunks(std::string_view txt_value) {
  std::string out = "( ";
  for (const std::string& chunk : split_txt_value(txt_value)) {
    out.push_back('"');
    for (char c : chunk) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out += "\" ";
  }
  out.push_back(')');
  return out;
}

}  // namespace

std::string key_record_name(std::string_view domain, std::string_view selector) {
  return std::string(selector) + "._domainkey." + absolute(domain);
}

std::vector<std::string> split_txt_value(std::string_view value) {
  std::vector<std::string> chunks;
  do {
    chunks.emplace_back(value.substr(0, kMaxCharacterString));
    value.remove_prefix(chunks.back().size());
  } while (!value.empty());
  return chunks;
}

std::string zone_file_txt_line(std::string_view domain, std::string_view selector, std::string_view txt_value,
                               int ttl) {
  return key_record_name(domain, selector) + " " + std::to_string(ttl) + " IN TXT " + quoted_chunks(txt_value);
}

DelegatedRecords delegated_records(std::string_view domain, std::string_view selector, std::string_view txt_value,
                                   std::string_view delegation_zone, int ttl) {
  std::string domain_name(domain);
  if (!domain_name.empty() && domain_name.back() == '.') domain_name.pop_back();
  DelegatedRecords records;
  records.target_name = std::string(selector) + "." + domain_name + "." + absolute(delegation_zone);
  records.customer_cname =
      key_record_name(domain_name, selector) + " " + std::to_string(ttl) + " IN CNAME " + records.target_name;
  records.operator_txt = records.target_name + " " + std::to_string(ttl) + " IN TXT " + quoted_chunks(txt_value);
  return records;
}

}  // namespace dkr::keystore
