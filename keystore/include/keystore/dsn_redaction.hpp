#pragma once
// libpq echoes a connection string it cannot parse ("missing \"=\" after \"postgresql:/u:pw@h\""), so a
// typo in a DSN would put the database password in the critical log line. Every message about a
// connection passes through this first.
#include <string>
#include <string_view>

namespace dkr::keystore {

// `message` with every password of `dsn` (URI user:password@, ?password=, keyword password=, quoted
// or not, and its percent-decoded form) and every password-shaped part of the message itself
// replaced by "[redacted]".
std::string redact_dsn_secrets(std::string_view message, std::string_view dsn);

}  // namespace dkr::keystore
