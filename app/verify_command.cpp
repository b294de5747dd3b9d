// dkim-relay verify: checks every DKIM-Signature of a message from stdin.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "cli_args.hpp"
#include "commands.hpp"
#include "terminal_text.hpp"
#include "message_io.hpp"
#include "signer/signer.hpp"

namespace dkr::app {

namespace {

constexpr std::string_view kVerifyUsage =
    R"(usage: dkim-relay verify [--txt 'S._domainkey.D=v=DKIM1; k=rsa; p=...']... [--key-dir DIR] < message

Verifies each DKIM-Signature of the message on standard input and prints one line per signature:
  pass d=D s=S a=ALG
  fail d=D s=S a=ALG reason=...
Exits 0 only when there is at least one signature and all pass. LF-only input is converted to CRLF.
Keys come from --txt (repeatable) or from DIR/<selector>._domainkey.<domain>.txt holding the TXT
record text (zone-file style "quoted" "strings" are joined). No DNS queries are made.
)";

// Accepts a bare TXT value or one or more "quoted" character-strings.
std::string txt_value(const std::string& text) {
  if (text.find('"') == std::string::npos) {
    const auto b = text.find_first_not_of(" \t\r\n");
    const auto e = text.find_last_not_of(" \t\r\n");
    return b == std::string::npos ? std::string() : text.substr(b, e - b + 1);
  }
  std::string out;
  bool in_quotes = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {
      in_quotes = !in_quotes;
    } else if (in_quotes) {
      if (c == '\\' && i + 1 < text.size()) ++i;
      out += text[i];
    }
  }
  return out;
}

}  // namespace

int run_verify(Args args) {
  const CliArgs cli(args, {"txt", "key-dir"});
  if (cli.flag("help")) {
    std::cout << kVerifyUsage;
    return 0;
  }
  if (!cli.ok()) {
    std::cerr << "dkim-relay verify: " << terminal_safe(cli.error()) << "\n" << kVerifyUsage;
    return 2;
  }
  std::map<std::string, std::string> records;
  for (const auto& t : cli.values("txt")) {
    const auto eq = t.find('=');
    if (eq == std::string::npos) {
      std::cerr << "dkim-relay verify: --txt wants NAME=RECORD\n";
      return 2;
    }
    records[signer::ascii_lower(t.substr(0, eq))] = t.substr(eq + 1);
  }
  const auto key_dir = cli.value("key-dir");

  const signer::KeyLookup lookup = [&](std::string_view selector, std::string_view domain) -> Result<std::string> {
    const std::string name = signer::ascii_lower(std::string(selector) + "._domainkey." + std::string(domain));
    if (auto it = records.find(name); it != records.end()) return it->second;
    if (key_dir) {
      std::ifstream in(std::filesystem::path(*key_dir) / (name + ".txt"));
      if (in) {
        std::stringstream s;
        s << in.rdbuf();
        return txt_value(s.str());
      }
    }
    return make_error("no key record for " + name);
  };

  const InputMessage input = read_message(std::cin);
  const auto results = signer::verify_message(input.crlf, lookup);
  if (results.empty()) {
    std::cout << "none reason=no DKIM-Signature field\n";
    return 1;
  }
  bool all = true;
  for (const auto& r : results) {
    std::cout << (r.pass ? "pass" : "fail") << " d=" << r.domain << " s=" << r.selector << " a=" << r.algorithm;
    if (!r.pass) std::cout << " reason=" << r.reason;
    std::cout << "\n";
    all = all && r.pass;
  }
  return all ? 0 : 1;
}

}  // namespace dkr::app
