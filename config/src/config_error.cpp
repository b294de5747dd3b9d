#include "config/config.hpp"

namespace dkr::config {

std::string ConfigError::to_string() const {
  // Appends one piece at a time: GCC 12 at -O3 reports a false -Wrestrict for `":" + to_string()`.
  std::string out = file;
  if (line > 0) {
    out += ':';
    out += std::to_string(line);
    out += ':';
    out += std::to_string(column);
  }
  out += ": ";
  if (!key.empty()) {
    out += key;
    out += ": ";
  }
  out += message;
  return out;
}

}  // namespace dkr::config
