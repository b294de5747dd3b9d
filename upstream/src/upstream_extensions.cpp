#include "upstream/upstream_extensions.hpp"
#include "common/ascii.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace dkr::upstream {

namespace {

std::vector<std::string> words(std::string_view s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    std::size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace

bool UpstreamExtensions::offers_auth(std::string_view mechanism) const {
  const std::string wanted = uppercase(mechanism);
  return std::find(auth_mechanisms.begin(), auth_mechanisms.end(), wanted) != auth_mechanisms.end();
}

UpstreamExtensions parse_ehlo_reply(const SmtpReply& ehlo) {
  UpstreamExtensions ext;
  for (std::size_t i = 1; i < ehlo.lines.size(); ++i) {
    std::vector<std::string> w = words(ehlo.lines[i]);
    if (w.empty()) continue;
    std::string keyword = uppercase(w[0]);
    // Some servers still advertise the pre-RFC 4954 form "AUTH=PLAIN LOGIN".
    if (keyword.rfind("AUTH=", 0) == 0) {
      w[0] = keyword.substr(5);
      keyword = "AUTH";
    } else {
      w.erase(w.begin());
    }
    if (keyword == "PIPELINING") {
      ext.pipelining = true;
    } else if (keyword == "STARTTLS") {
      ext.starttls = true;
    } else if (keyword == "SMTPUTF8") {
      ext.smtputf8 = true;
    } else if (keyword == "8BITMIME") {
      ext.eightbitmime = true;
    } else if (keyword == "SIZE") {
      std::uint64_t limit = 0;
      if (!w.empty()) {
        const auto [ptr, ec] = std::from_chars(w[0].data(), w[0].data() + w[0].size(), limit);
        if (ec != std::errc() || ptr != w[0].data() + w[0].size()) limit = 0;
      }
      ext.size = limit;
    } else if (keyword == "AUTH") {
      for (const std::string& m : w) {
        if (m.empty()) continue;
        std::string mech = uppercase(m);
        if (!ext.offers_auth(mech)) ext.auth_mechanisms.push_back(std::move(mech));
      }
    }
  }
  return ext;
}

std::string for_upstream(std::string line, const UpstreamExtensions& extensions) {
  if (!extensions.auth_mechanisms.empty()) return line;
  auto upper = [](char c) { return static_cast<char>(std::toupper(static_cast<unsigned char>(c))); };
  auto starts_with_nocase = [&](std::string_view text, std::string_view prefix) {
    if (text.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
      if (upper(text[i]) != prefix[i]) return false;
    }
    return true;
  };
  if (!starts_with_nocase(line, "MAIL FROM:")) return line;
  // Parameters follow the path, each after one space; a path holds no unquoted space that matters
  // here because the AUTH= keyword is matched only at a parameter's start.
  std::size_t at = line.find(' ');
  while (at != std::string::npos) {
    const std::size_t next = line.find(' ', at + 1);
    const std::string_view parameter(line.data() + at + 1, (next == std::string::npos ? line.size() : next) - at - 1);
    if (starts_with_nocase(parameter, "AUTH=")) {
      line.erase(at, (next == std::string::npos ? line.size() : next) - at);
      at = line.find(' ', at);
      continue;
    }
    at = next;
  }
  return line;
}

}  // namespace dkr::upstream
