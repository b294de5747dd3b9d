#pragma once
// GET/PUT /v1/domains/{domain}/rotation: a domain's rotation override as JSON, and the effective
// policy (the global [rotation] with the override applied) with the domain's next scheduled step.
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "keystore/key_store.hpp"
#include "lifecycle/rotation_policy.hpp"

namespace dkr::admin {

// {"opt_out": bool, "interval": "30d" | seconds | null, "retire_after": ..., "delete_after": ...,
// "dns_timeout": ...}: the whole override (PUT replaces it; a field left out or null takes the global
// value). Errors name the field.
Result<keystore::RotationOverride> parse_rotation_override(std::string_view body);

// {"opt_out", "override": {field: seconds|null}, "effective": {enabled, interval, ...},
//  "next_step", "next_step_key", "next_step_at"}.
nlohmann::json rotation_json(const keystore::DomainInfo& info, const lifecycle::RotationPolicy& global,
                             std::int64_t now);

}  // namespace dkr::admin
