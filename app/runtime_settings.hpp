#pragma once
// Maps the loaded configuration onto each library's own plain settings, so that only the app
// knows both sides.
#include "admin/admin_settings.hpp"
#include "config/config.hpp"
#include "keystore/directory_key_store.hpp"
#include "lifecycle/domain_policy.hpp"
#include "lifecycle/rotation_policy.hpp"
#include "relay/relay_settings.hpp"
#include "upstream/upstream_settings.hpp"
#include "common/result.hpp"

namespace dkr::app {

Result<relay::RelaySettings> relay_settings(const config::Config& config);
keystore::DirectoryKeyStoreOptions keystore_options(const config::Config& config);
admin::AdminSettings admin_settings(const config::Config& config, std::string token);
lifecycle::RotationPolicy rotation_policy(const config::Config& config);
// What a domain's own policy must respect (the [rotation] config check's rules).
lifecycle::PolicyLimits rotation_limits(const config::Config& config);
// The SMTP upstream's settings ([upstream] with type = "smtp").
upstream::SmtpUpstreamSettings upstream_settings(const config::Config& config);

}  // namespace dkr::app
