#include "received_field.hpp"

#include <ctime>

namespace dkr::relay {
namespace {

std::string rfc5322_date() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buffer;
}

}  // namespace

std::string trace_safe(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 255)) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
              c == '_' || c == ':' || c == '[' || c == ']';
    out += ok ? c : '_';
  }
  return out.empty() ? "unknown" : out;
}

std::string received_field(std::string_view helo, std::string_view address, std::string_view host,
                           std::string_view protocol, std::string_view id) {
  std::string field = "Received: from " + trace_safe(helo) + " ([";
  field.append(address);
  field += "])\r\n\tby " + trace_safe(host) + " (dkim-relay) with ";
  field.append(protocol);
  field += " id ";
  field.append(id);
  field += ";\r\n\t" + rfc5322_date() + "\r\n";
  return field;
}

}  // namespace dkr::relay
