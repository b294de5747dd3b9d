#include "signer/message.hpp"

namespace dkr::signer {

namespace {

struct HeaderScan {
  std::vector<HeaderField> headers;
  std::size_t body_start = std::string_view::npos;  // npos: no empty line found
};

HeaderScan scan_headers(std::string_view text) {
  HeaderScan scan;
  std::size_t pos = 0;
  std::size_t field_start = std::string_view::npos;
  std::size_t field_end = 0;
  auto close_field = [&] {
    if (field_start == std::string_view::npos) return;
    const std::string_view raw = text.substr(field_start, field_end - field_start);
    const auto colon = raw.find(':');
    HeaderField field;
    field.raw = raw;
    field.name = colon == std::string_view::npos ? std::string_view{} : raw.substr(0, colon);
    // "Subject :" — RFC 5322 obsolete syntax allows WSP before the colon; the name excludes it.
    while (!field.name.empty() && (field.name.back() == ' ' || field.name.back() == '\t')) field.name.remove_suffix(1);
    scan.headers.push_back(field);
    field_start = std::string_view::npos;
  };
  while (pos < text.size()) {
    const auto eol = text.find("\r\n", pos);
    const std::size_t line_end = eol == std::string_view::npos ? text.size() : eol;
    const std::size_t next = eol == std::string_view::npos ? text.size() : eol + 2;
    if (line_end == pos && eol != std::string_view::npos) {  // empty line: end of headers
      close_field();
      scan.body_start = next;
      return scan;
    }
    const char first = text[pos];
    if ((first == ' ' || first == '\t') && field_start != std::string_view::npos) {
      field_end = line_end;  // continuation of the current field
    } else {
      close_field();
      field_start = pos;
      field_end = line_end;
    }
    pos = next;
  }
  close_field();
  return scan;
}

}  // namespace

SplitMessage split_message(std::string_view message) {
  SplitMessage out;
  auto scan = scan_headers(message);
  out.headers = std::move(scan.headers);
  if (scan.body_start != std::string_view::npos) {
    out.has_separator = true;
    out.body = message.substr(scan.body_start);
  }
  return out;
}

std::vector<HeaderField> parse_header_fields(std::string_view header_section) {
  return scan_headers(header_section).headers;
}

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string_view header_value(const HeaderField& field) {
  const auto colon = field.raw.find(':');
  return colon == std::string_view::npos ? std::string_view{} : field.raw.substr(colon + 1);
}

std::string lf_to_crlf(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out += '\r';
    out += text[i];
  }
  return out;
}

}  // namespace dkr::signer
