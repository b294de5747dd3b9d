#include "lifecycle/domain_policy.hpp"

#include <array>
#include <charconv>
#include <utility>

#include <spdlog/spdlog.h>

namespace dkr::lifecycle {
namespace {

constexpr std::array<std::pair<char, std::int64_t>, 4> kUnits = {{{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}}};

std::string seconds_text(std::chrono::seconds value) { return std::to_string(value.count()) + "s"; }

std::chrono::seconds or_global(const std::optional<std::int64_t>& value, std::chrono::seconds global) {
  return value ? std::chrono::seconds(*value) : global;
}

std::optional<std::int64_t> seconds_of(const std::optional<std::chrono::seconds>& value) {
  if (!value) return std::nullopt;
  return value->count();
}

}  // namespace

RotationPolicy effective_policy(const RotationPolicy& global, const keystore::RotationOverride& rotation) {
  RotationPolicy policy = global;
  policy.opted_out = rotation.opt_out;
  policy.interval = or_global(rotation.interval, global.interval);
  policy.retire_after = or_global(rotation.retire_after, global.retire_after);
  policy.delete_after = or_global(rotation.delete_after, global.delete_after);
  policy.dns_timeout = or_global(rotation.dns_timeout, global.dns_timeout);
  return policy;
}

Result<void> validate_policy(const RotationPolicy& policy, const PolicyLimits& limits) {
  const std::chrono::seconds ttl = limits.allow_short_intervals ? std::chrono::seconds(0) : limits.dns_ttl;
  const std::chrono::seconds floor = ttl + limits.check_interval;
  if (policy.retire_after < floor) {
    return make_error(ErrorCode::invalid, "retire_after is " + seconds_text(policy.retire_after) +
                                              ", shorter than the DNS TTL (" + seconds_text(ttl) +
                                              ") plus dns.check_interval (" + seconds_text(limits.check_interval) +
                                              "): verifiers could still hold the old key's record when it is "
                                              "revoked; make it at least " +
                                              seconds_text(floor));
  }
  if (policy.interval < std::chrono::hours(24) && !limits.allow_short_intervals) {
    return make_error(ErrorCode::invalid, "interval is " + seconds_text(policy.interval) +
                                              ", under 1 day (allowed only with rotation.allow_short_intervals)");
  }
  for (auto [name, value] :
       {std::pair{"interval", policy.interval}, std::pair{"retire_after", policy.retire_after},
        std::pair{"delete_after", policy.delete_after}, std::pair{"dns_timeout", policy.dns_timeout}}) {
    if (value.count() <= 0) return make_error(ErrorCode::invalid, std::string(name) + " must be at least 1s");
  }
  return {};
}

std::optional<std::chrono::seconds> parse_policy_duration(std::string_view text) {
  if (text.size() < 2) return std::nullopt;
  const char unit = text.back();
  const std::string_view digits = text.substr(0, text.size() - 1);
  std::int64_t number = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
  if (error != std::errc() || end != digits.data() + digits.size() || number <= 0) return std::nullopt;
  for (const auto& [suffix, factor] : kUnits) {
    if (suffix != unit) continue;
    if (number > INT64_MAX / factor) return std::nullopt;
    return std::chrono::seconds(number * factor);
  }
  return std::nullopt;
}

std::string format_policy_duration(std::chrono::seconds duration) {
  const std::int64_t seconds = duration.count();
  if (seconds == 0) return "0s";
  for (const auto& [suffix, factor] : kUnits) {
    if (seconds % factor == 0) return std::to_string(seconds / factor) + suffix;
  }
  return std::to_string(seconds) + "s";
}

keystore::RotationOverride apply_change(const keystore::RotationOverride& current, const PolicyChange& change) {
  keystore::RotationOverride out = change.reset ? keystore::RotationOverride{} : current;
  if (change.opt_out) out.opt_out = *change.opt_out;
  if (change.interval) out.interval = seconds_of(change.interval);
  if (change.retire_after) out.retire_after = seconds_of(change.retire_after);
  if (change.delete_after) out.delete_after = seconds_of(change.delete_after);
  if (change.dns_timeout) out.dns_timeout = seconds_of(change.dns_timeout);
  return out;
}

Result<keystore::RotationOverride> DomainPolicy::set(std::string_view domain,
                                                     const keystore::RotationOverride& wanted) {
  auto info = store_.domain(domain);
  if (!info) return info.error();
  if (auto valid = validate_policy(effective_policy(global_, wanted), limits_); !valid) {
    return make_error(ErrorCode::invalid, "rotation policy of " + info->domain + ": " + valid.error().message);
  }
  if (auto stored = store_.set_rotation_override(info->domain, wanted); !stored) return stored.error();
  const RotationPolicy effective = effective_policy(global_, wanted);
  spdlog::info(
      "lifecycle audit: rotation policy of {}: {}interval {}, retire_after {}, delete_after {}, dns_timeout {}{}",
      info->domain, wanted.opt_out ? "opted out of scheduled rotation; " : "",
      format_policy_duration(effective.interval), format_policy_duration(effective.retire_after),
      format_policy_duration(effective.delete_after), format_policy_duration(effective.dns_timeout),
      wanted.empty() ? " (the global policy)" : "");
  return wanted;
}

Result<keystore::RotationOverride> DomainPolicy::change(std::string_view domain, const PolicyChange& change) {
  auto info = store_.domain(domain);
  if (!info) return info.error();
  return set(info->domain, apply_change(info->rotation, change));
}

DomainSchedule next_domain_step(const keystore::DomainInfo& info, const RotationPolicy& policy, std::int64_t now) {
  DomainSchedule out;
  for (const auto& key : info.selectors) {
    const KeySchedule s = schedule_of(key, policy, now);
    if (s.next_step_at == 0) continue;
    if (out.next_step_at == 0 || s.next_step_at < out.next_step_at) {
      out.next_step = s.next_step;
      out.selector = key.selector;
      out.next_step_at = s.next_step_at;
    }
  }
  return out;
}

}  // namespace dkr::lifecycle
