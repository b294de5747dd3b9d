#pragma once
// Minimal "--name value" / "--flag" parsing shared by the subcommands.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "commands.hpp"

namespace dkr::app {

class CliArgs {
 public:
  // `with_value` lists the options that take a value; everything else starting with "--" is a flag.
  CliArgs(Args args, std::vector<std::string_view> with_value);

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  bool flag(std::string_view name) const;
  std::optional<std::string> value(std::string_view name) const;  // last occurrence
  std::vector<std::string> values(std::string_view name) const;   // all occurrences
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::vector<std::pair<std::string, std::string>> options_;
  std::vector<std::string> flags_;
  std::vector<std::string> positional_;
  std::string error_;
};

}  // namespace dkr::app
