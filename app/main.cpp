// dkim-relay: an outbound DKIM-signing SMTP relay. This file only dispatches subcommands.
#include <iostream>
#include <string_view>
#include <vector>

#include "commands.hpp"
#include "terminal_text.hpp"
#include "version_text.hpp"

namespace {

constexpr std::string_view kHelp = R"(dkim-relay — outbound DKIM-signing SMTP relay

usage:
  dkim-relay [serve] [--config FILE]       run the relay (embedded defaults without --config)
  dkim-relay --check-config [--config FILE] validate the config, print it with secrets masked
  dkim-relay sign ...                      sign a message from stdin (see: dkim-relay sign --help)
  dkim-relay verify ...                    verify a message from stdin (see: dkim-relay verify --help)
  dkim-relay keys ...                      manage the keystore (see: dkim-relay keys --help)
  dkim-relay db migrate --config FILE      create/upgrade the PostgreSQL keystore schema
  dkim-relay hash-password < password      print a password_hash for [[auth.users]]
  dkim-relay dns status DOMAIN | publish-check  delegated selectors' CNAMEs and status; publishing check
  dkim-relay --version | --help
)";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h" || args[0] == "help")) {
    std::cout << kHelp;
    return 0;
  }
  if (!args.empty() && args[0] == "--version") {
    std::cout << dkr::app::version_text();
    return 0;
  }
  const std::string_view command = args.empty() ? "serve" : args[0];
  const dkr::app::Args rest = args.empty() ? dkr::app::Args{} : dkr::app::Args(args).subspan(1);
  if (command == "sign") return dkr::app::run_sign(rest);
  if (command == "verify") return dkr::app::run_verify(rest);
  if (command == "keys") return dkr::app::run_keys(rest);
  if (command == "serve") return dkr::app::run_serve(rest);
  if (command == "db") return dkr::app::run_db(rest);
  if (command == "hash-password") return dkr::app::run_hash_password(rest);
  if (command == "dns") return dkr::app::run_dns(rest);
  if (command.starts_with("--")) return dkr::app::run_serve(args);  // e.g. dkim-relay --config FILE
  std::cerr << "dkim-relay: unknown command '" << dkr::app::terminal_safe(command) << "'\n" << kHelp;
  return 2;
}
