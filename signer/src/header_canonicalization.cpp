#include "signer/canonicalization.hpp"

#include "common/ascii.hpp"

namespace dkr::signer {

void append_canonical_header(std::string& out, Canon canon, std::string_view raw) {
  out.reserve(out.size() + raw.size() + 2);
  if (canon == Canon::Simple) {
    out.append(raw);
    out.append("\r\n");
    return;
  }
  // Relaxed (§3.4.2): lowercase the name, unfold, reduce WSP runs to one SP, drop WSP at the end of
  // the value and around the colon.
  const auto colon = raw.find(':');
  std::string_view name = colon == std::string_view::npos ? raw : raw.substr(0, colon);
  while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
  for (char c : name) out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  out += ':';
  if (colon != std::string_view::npos) {
    // The value never grows: write it through a pointer into room made in advance, then trim.
    const std::size_t start = out.size();
    out.resize(start + (raw.size() - colon - 1));
    char* w = out.data() + start;
    bool pending_space = false;
    bool seen_value = false;
    for (std::size_t i = colon + 1; i < raw.size(); ++i) {
      const char c = raw[i];
      if (c == '\r' && i + 1 < raw.size() && raw[i + 1] == '\n') {
        ++i;  // unfold: the CRLF disappears, the WSP after it is a run like any other
        continue;
      }
      if (is_wsp(c)) {
        pending_space = seen_value;
        continue;
      }
      if (pending_space) *w++ = ' ';
      pending_space = false;
      seen_value = true;
      *w++ = c;
    }
    out.resize(static_cast<std::size_t>(w - out.data()));
  }
  out.append("\r\n");
}

std::string canonicalize_header(Canon canon, std::string_view raw) {
  std::string out;
  append_canonical_header(out, canon, raw);
  return out;
}

}  // namespace dkr::signer
