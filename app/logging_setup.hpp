#pragma once
#include "config/config.hpp"

namespace dkr::app {

// Logs go to stderr, as text or as one JSON object per line (for log shippers).
void setup_logging(const config::LogConfig& log);

}  // namespace dkr::app
