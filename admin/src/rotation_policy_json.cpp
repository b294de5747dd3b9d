#include "admin/rotation_policy_json.hpp"

#include <utility>

#include "admin/json_body.hpp"
#include "lifecycle/domain_policy.hpp"

namespace dkr::admin {
namespace {

using nlohmann::json;

constexpr std::pair<const char*, std::optional<std::int64_t> keystore::RotationOverride::*> kDurations[] = {
    {"interval", &keystore::RotationOverride::interval},
    {"retire_after", &keystore::RotationOverride::retire_after},
    {"delete_after", &keystore::RotationOverride::delete_after},
    {"dns_timeout", &keystore::RotationOverride::dns_timeout},
};

json seconds_or_null(const std::optional<std::int64_t>& value) { return value ? json(*value) : json(nullptr); }

}  // namespace

Result<keystore::RotationOverride> parse_rotation_override(std::string_view body) {
  auto object = parse_json_object(body);
  if (!object) return object.error();
  keystore::RotationOverride out;
  for (const auto& item : object->items()) {
    // Named references rather than a structured binding: clang 14 (the sanitizer build) cannot
    // capture a structured binding in the lambda below.
    const std::string& name = item.key();
    const auto& value = item.value();
    if (name == "opt_out") {
      if (!value.is_boolean()) return make_error("field 'opt_out' must be true or false");
      out.opt_out = value.get<bool>();
      continue;
    }
    const auto* field = std::find_if(std::begin(kDurations), std::end(kDurations),
                                     [&](const auto& entry) { return name == entry.first; });
    if (field == std::end(kDurations)) return make_error("unknown field '" + name + "'");
    if (value.is_null()) continue;
    std::optional<std::chrono::seconds> seconds;
    if (value.is_string()) {
      seconds = lifecycle::parse_policy_duration(value.get<std::string>());
    } else if (value.is_number_integer() && value.get<std::int64_t>() > 0) {
      seconds = std::chrono::seconds(value.get<std::int64_t>());
    }
    if (!seconds) {
      return make_error("field '" + name +
                        "' must be a duration such as \"90d\", \"72h\", \"30m\" or \"45s\", a positive number of "
                        "seconds, or null for the global value");
    }
    out.*(field->second) = seconds->count();
  }
  return out;
}

json rotation_json(const keystore::DomainInfo& info, const lifecycle::RotationPolicy& global, std::int64_t now) {
  const lifecycle::RotationPolicy effective = lifecycle::effective_policy(global, info.rotation);
  json overrides = json::object();
  for (const auto& [name, field] : kDurations) overrides[name] = seconds_or_null(info.rotation.*field);
  const lifecycle::DomainSchedule next = lifecycle::next_domain_step(info, effective, now);
  return {{"opt_out", info.rotation.opt_out},
          {"override", std::move(overrides)},
          {"effective",
           {{"enabled", effective.enabled},
            {"rotates", effective.enabled && !effective.opted_out},
            {"interval", effective.interval.count()},
            {"retire_after", effective.retire_after.count()},
            {"delete_after", effective.delete_after.count()},
            {"dns_timeout", effective.dns_timeout.count()}}},
          {"next_step",
           next.next_step == lifecycle::KeyStep::None ? json(nullptr) : json(lifecycle::to_string(next.next_step))},
          {"next_step_key", next.selector.empty() ? json(nullptr) : json(next.selector)},
          {"next_step_at", next.next_step_at == 0 ? json(nullptr) : json(next.next_step_at)}};
}

}  // namespace dkr::admin
