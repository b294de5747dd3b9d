#pragma once
// Splitting an RFC 5322 message (CRLF line ends) into header fields and body.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dkr::signer {

struct HeaderField {
  std::string_view name;  // as written, without the colon
  std::string_view raw;   // whole field "Name: value" incl. folding CRLFs, without the final CRLF
};

struct SplitMessage {
  std::vector<HeaderField> headers;  // in message order
  std::string_view body;             // everything after the empty line (may be empty)
  bool has_separator = false;        // false when the message has no empty line (headers only)
};

// Views into `message`, which must outlive the result. Tolerates a header section without a final
// empty line. Lines that are neither a field nor a continuation are kept as a field with an empty
// name so that nothing is silently dropped.
SplitMessage split_message(std::string_view message);

// Parses only a header section (no body), e.g. what the relay collected before the body started.
std::vector<HeaderField> parse_header_fields(std::string_view header_section);

// ASCII case-insensitive. Inline: signing compares every configured name with every field name,
// and most pairs differ in length.
inline bool header_name_equals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x == y) continue;
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}
std::string ascii_lower(std::string_view text);  // header names, tag values, DNS names

// The field's value: everything after the first colon, unmodified.
std::string_view header_value(const HeaderField& field);

// Converts lone LF (not preceded by CR) to CRLF; used for LF-only files given to the CLI.
std::string lf_to_crlf(std::string_view text);

}  // namespace dkr::signer
