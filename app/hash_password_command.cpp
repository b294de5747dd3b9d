// `dkim-relay hash-password`: the password_hash value of an [[auth.users]] entry, so that nobody
// computes PBKDF2 by hand. The password comes from stdin; on a terminal it is asked for twice
// without echo. It never appears on the command line, where `ps` and shell history would see it.
#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <stdexcept>
#include <string>

#include <openssl/crypto.h>

#include "cli_args.hpp"
#include "commands.hpp"
#include "common/password_hash_format.hpp"
#include "relay/password_hash.hpp"

namespace dkr::app {

namespace {

constexpr std::string_view kHashPasswordUsage = R"(usage: dkim-relay hash-password [--iterations N] < password

Prints the password_hash value for an [[auth.users]] entry of the config file. The password is read
from stdin (one line; the final newline is not part of it); on a terminal it is asked for without echo.
)";

std::string read_line_without_echo(const char* prompt) {
  std::cerr << prompt << std::flush;
  termios saved{};
  const bool restore = tcgetattr(STDIN_FILENO, &saved) == 0;
  if (restore) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (restore) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
  std::cerr << "\n";
  return line;
}

}  // namespace

int run_hash_password(Args args) {
  CliArgs cli(args, {"iterations"});
  if (!cli.ok() || cli.flag("help") || !cli.positional().empty()) {
    if (!cli.ok()) std::cerr << "dkim-relay hash-password: " << cli.error() << "\n";
    (cli.flag("help") ? std::cout : std::cerr) << kHashPasswordUsage;
    return cli.flag("help") ? 0 : 2;
  }
  std::uint32_t iterations = 600000;
  if (auto text = cli.value("iterations")) {
    try {
      const auto value = std::stoul(*text);
      if (value < 1000 || value > kMaxPasswordHashIterations) throw std::out_of_range("iterations");
      iterations = static_cast<std::uint32_t>(value);
    } catch (const std::exception&) {
      std::cerr << "dkim-relay hash-password: --iterations: expected a number from 1000 to 10000000\n";
      return 2;
    }
  }
  std::string password;
  if (isatty(STDIN_FILENO)) {
    password = read_line_without_echo("Password: ");
    std::string again = read_line_without_echo("Again: ");
    const bool same = again == password;
    OPENSSL_cleanse(again.data(), again.size());
    if (!same) {
      OPENSSL_cleanse(password.data(), password.size());
      std::cerr << "dkim-relay hash-password: the passwords differ\n";
      return 1;
    }
  } else {
    std::getline(std::cin, password);
    if (!password.empty() && password.back() == '\r') password.pop_back();
  }
  if (password.empty()) {
    std::cerr << "dkim-relay hash-password: empty password\n";
    return 1;
  }
  const std::string hash = relay::make_password_hash(password, iterations);
  OPENSSL_cleanse(password.data(), password.size());
  std::cout << hash << "\n";
  return 0;
}

}  // namespace dkr::app
