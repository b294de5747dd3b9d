#pragma once
// Builds the configured upstream: a folder of .eml files, or an SMTP MTA.
#include <boost/asio/io_context.hpp>
#include <memory>

#include "config/config.hpp"
#include "upstream/upstream.hpp"
#include "common/result.hpp"

namespace dkr::app {

Result<std::shared_ptr<upstream::Upstream>> make_upstream(const config::Config& config, boost::asio::io_context& io);

}  // namespace dkr::app
