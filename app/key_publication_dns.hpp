#pragma once
// lifecycle::KeyPublicationProbe over today's c-ares resolver and DKIM record checks (admin/). The
// one file that ties the lifecycle to a DNS implementation: repoint it at dns/ when that exists.
#include <memory>

#include "common/result.hpp"
#include "config/config.hpp"
#include "lifecycle/key_publication_probe.hpp"

namespace dkr::app {

// Resolver settings come from the config here, in one place (today's admin.dns_resolver and
// admin.dns_timeout). The probe runs its own I/O thread; probe() blocks the caller until the
// lookup is answered or times out.
Result<std::unique_ptr<lifecycle::KeyPublicationProbe>> make_key_publication_probe(const config::Config& config);

// admin.dns_check_interval: how often the rotation schedule runs.
std::chrono::milliseconds rotation_check_interval(const config::Config& config);

}  // namespace dkr::app
