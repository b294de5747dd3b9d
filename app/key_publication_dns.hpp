#pragma once
// lifecycle::KeyPublicationProbe over dns/'s c-ares resolver and key proof: the one file that ties
// the lifecycle to a DNS implementation.
#include <memory>

#include "common/result.hpp"
#include "config/config.hpp"
#include "lifecycle/key_publication_probe.hpp"

namespace dkr::app {

// Resolver settings come from the config here, in one place (dns.resolver and
// dns.timeout). The probe runs its own I/O thread; probe() blocks the caller until the
// lookup is answered or times out.
Result<std::unique_ptr<lifecycle::KeyPublicationProbe>> make_key_publication_probe(const config::Config& config);

// dns.check_interval: how often the rotation schedule runs.
std::chrono::milliseconds rotation_check_interval(const config::Config& config);

}  // namespace dkr::app
