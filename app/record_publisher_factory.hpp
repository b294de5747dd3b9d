#pragma once
// Builds the configured record publisher ([dns.publish]): none, or RFC 2136 with the TSIG key file.
#include <memory>

#include "common/result.hpp"
#include "config/config.hpp"
#include "dns/record_publisher.hpp"

namespace dkr::app {

// nullptr for type = "none". Fails (naming the key) when the TSIG key file cannot be used.
Result<std::unique_ptr<dns::RecordPublisher>> make_record_publisher(const config::Config& config);

}  // namespace dkr::app
