// dkim-relay sign: signs one message from stdin.
#include <iostream>
#include <sstream>

#include "cli_args.hpp"
#include "commands.hpp"
#include "terminal_text.hpp"
#include "message_io.hpp"
#include "signer/signer.hpp"

namespace dkr::app {

namespace {

constexpr std::string_view kSignUsage =
    R"(usage: dkim-relay sign --domain D --selector S --key KEY.pem [options] < message > signed

Signs the message on standard input and writes it, with DKIM-Signature field(s) prepended, to
standard output. Input with LF-only line ends is accepted: it is converted to CRLF for signing and
the output is written with LF line ends again. Input with CRLF line ends is written with CRLF.

options:
  --domain D                 d= (required)
  --selector S --key FILE    selector and PEM private key (RSA >= 2048 or Ed25519); repeat the pair
                             to add more signatures in the same pass (e.g. RSA and Ed25519)
  --algorithm A              rsa-sha256 | ed25519-sha256: refuse a key of another type
  --canonicalization C       relaxed/relaxed (default), relaxed/simple, simple/relaxed, simple/simple
  --headers a:b:c            header fields to sign (default: a list of 30 common fields)
  --oversign a:b             fields signed once more than they occur (default: From:Subject:Date:To:Cc:Reply-To:Message-ID)
  --identity I               i= (must be within d=)
  --timestamp T              t= (default: now)
  --expire-after SECONDS     adds x= = t= + SECONDS
  --allow-weak-rsa           allow signing with 1024..2047-bit RSA keys
  --also-ed25519-key FILE --also-ed25519-selector S
                             shorthand for a second (Ed25519) --selector/--key pair
)";

std::vector<std::string> split_names(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ':'))
    if (!item.empty()) out.push_back(item);
  return out;
}

}  // namespace

int run_sign(Args args) {
  const CliArgs cli(args, {"domain", "selector", "key", "algorithm", "canonicalization", "headers", "oversign",
                           "identity", "timestamp", "expire-after", "also-ed25519-key", "also-ed25519-selector"});
  if (cli.flag("help")) {
    std::cout << kSignUsage;
    return 0;
  }
  if (!cli.ok()) {
    std::cerr << "dkim-relay sign: " << terminal_safe(cli.error()) << "\n" << kSignUsage;
    return 2;
  }
  auto selectors = cli.values("selector");
  auto keys = cli.values("key");
  if (auto k = cli.value("also-ed25519-key")) keys.push_back(*k);
  if (auto s = cli.value("also-ed25519-selector")) selectors.push_back(*s);
  const auto domain = cli.value("domain");
  if (!domain || selectors.empty() || keys.size() != selectors.size()) {
    std::cerr << "dkim-relay sign: need --domain and matching --selector/--key pairs\n" << kSignUsage;
    return 2;
  }

  signer::SignOptions base;
  base.domain = *domain;
  if (auto c = cli.value("canonicalization")) {
    const auto canon = signer::parse_canonicalization(*c);
    if (!canon) {
      std::cerr << "dkim-relay sign: bad --canonicalization " << terminal_safe(*c) << "\n";
      return 2;
    }
    base.canonicalization = *canon;
  }
  if (auto h = cli.value("headers")) base.headers = split_names(*h);
  if (auto o = cli.value("oversign")) base.oversign = split_names(*o);
  if (auto i = cli.value("identity")) base.identity = *i;
  try {
    if (auto t = cli.value("timestamp")) base.timestamp = std::stoll(*t);
    if (auto x = cli.value("expire-after")) base.expire_after = std::chrono::seconds(std::stoll(*x));
  } catch (const std::exception&) {
    std::cerr << "dkim-relay sign: --timestamp and --expire-after take whole seconds\n";
    return 2;
  }
  std::optional<signer::Algorithm> want;
  if (auto a = cli.value("algorithm")) {
    want = signer::parse_algorithm(*a);
    if (!want) {
      std::cerr << "dkim-relay sign: unknown --algorithm " << terminal_safe(*a) << "\n";
      return 2;
    }
  }

  signer::KeyPolicy policy;
  policy.allow_weak_rsa = cli.flag("allow-weak-rsa");
  std::vector<signer::SignRequest> requests;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    auto key = signer::SigningKey::load_file(keys[i], policy);
    if (!key) {
      std::cerr << "dkim-relay sign: " << terminal_safe(key.error().message) << "\n";
      return 1;
    }
    // --algorithm constrains the primary key; the --also-ed25519 key is Ed25519 by name.
    if (want && i == 0 && key->algorithm() != *want) {
      std::cerr << "dkim-relay sign: " << terminal_safe(keys[i]) << " is not a " << signer::to_string(*want)
                << " key\n";
      return 1;
    }
    signer::SignOptions options = base;
    options.selector = selectors[i];
    requests.push_back({options, std::make_shared<const signer::SigningKey>(std::move(key).value())});
  }

  const InputMessage input = read_message(std::cin);
  auto fields = signer::sign_message(input.crlf, requests);
  if (!fields) {
    std::cerr << "dkim-relay sign: " << terminal_safe(fields.error().message) << "\n";
    return 1;
  }
  std::string out;
  for (const auto& f : *fields) out += f;
  out += input.crlf;
  write_message(std::cout, out, input.lf_only);
  return std::cout.good() ? 0 : 1;
}

}  // namespace dkr::app
