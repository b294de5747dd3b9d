#include "cli_args.hpp"

#include <algorithm>

namespace dkr::app {

CliArgs::CliArgs(Args args, std::vector<std::string_view> with_value) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (!a.starts_with("--") || a == "--") {
      positional_.emplace_back(a);
      continue;
    }
    std::string name(a.substr(2));
    std::optional<std::string> inline_value;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name.resize(eq);
    }
    if (std::find(with_value.begin(), with_value.end(), name) == with_value.end()) {
      if (inline_value) {
        error_ = "option --" + name + " takes no value";
        return;
      }
      flags_.push_back(name);
      continue;
    }
    if (inline_value) {
      options_.emplace_back(name, *inline_value);
    } else if (i + 1 < args.size()) {
      options_.emplace_back(name, std::string(args[++i]));
    } else {
      error_ = "option --" + name + " needs a value";
      return;
    }
  }
}

bool CliArgs::flag(std::string_view name) const {
  return std::find(flags_.begin(), flags_.end(), name) != flags_.end();
}

std::optional<std::string> CliArgs::value(std::string_view name) const {
  std::optional<std::string> out;
  for (const auto& [n, v] : options_)
    if (n == name) out = v;
  return out;
}

std::vector<std::string> CliArgs::values(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [n, v] : options_)
    if (n == name) out.push_back(v);
  return out;
}

}  // namespace dkr::app
