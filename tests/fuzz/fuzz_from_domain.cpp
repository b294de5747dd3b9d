// From: address and domain extraction (RFC 5322 §3.4, §3.6.2) from untrusted header sections.
//
// Input: a header section (CRLF line ends). The same bytes are also parsed as a bare From: value.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "signer/from_domain.hpp"
#include "signer/message.hpp"

namespace {

using dkr::fuzz::check;

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

void check_address(std::string_view address, std::string_view input) {
  const auto at = address.rfind('@');
  check(at != std::string_view::npos && at > 0 && at + 1 < address.size(), "address without local@domain", input);
  // These would let a display name or a second address leak into what DMARC alignment reads.
  for (char c : address.substr(at + 1)) {
    check(c != '<' && c != '>' && c != ',' && c != ';' && c != '(' && c != ')' && c != '"' && c != ' ' && c != '\t' &&
              c != '\r' && c != '\n' && c != '\0' && c != '[' && c != ']' && c != '@',
          "address domain contains a delimiter", input);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  if (auto list = dkr::signer::parse_mailbox_list(input)) {
    check(!list->empty(), "parse_mailbox_list succeeded with no address", input);
    for (const auto& address : *list) check_address(address, input);
  }

  auto domain = dkr::signer::extract_from_domain(input);
  if (!domain) {
    check(!domain.error().message.empty(), "error without a message", input);
    return 0;
  }
  check(!domain->empty(), "empty From: domain", input);
  check(*domain == ascii_lower(*domain), "From: domain not lowercased", input);

  // Independent cross-check: exactly one From: field as the signer's header parser sees it, whose
  // value holds exactly one address with this domain.
  int from_fields = 0;
  std::string_view value;
  for (const auto& field : dkr::signer::parse_header_fields(input)) {
    if (dkr::signer::header_name_equals(field.name, "From")) {
      ++from_fields;
      value = dkr::signer::header_value(field);
    }
  }
  check(from_fields == 1, "domain extracted although the signer sees a number of From: fields other than 1", input);
  auto list = dkr::signer::parse_mailbox_list(value);
  check(list.ok() && list->size() == 1, "domain extracted from a From: value that is not one mailbox", input);
  const std::string& address = list->front();
  check(ascii_lower(address.substr(address.rfind('@') + 1)) == *domain,
        "extracted domain differs from the From: address's domain", input);
  return 0;
}
