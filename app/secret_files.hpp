#pragma once
// Secret files named in the configuration (admin tokens, upstream password, TLS keys, the keystore's
// KEK and DSN files) must be private: a file that group or others may read or write, or that another
// user owns, is refused at start with the chmod/chown that fixes it (as ssh does for private keys;
// the keystore already refuses such key files).
#include <string>
#include <vector>

#include "common/result.hpp"
#include "config/config.hpp"

namespace dkr::app {

// `key` is the config key naming the file, for the message. A missing file is not this check's
// business (the admin token is then created, anything else fails where it is read).
Result<void> check_secret_file(const std::string& key, const std::string& path);

// Every secret file of `cfg`; one message per problem.
std::vector<Error> check_secret_files(const config::Config& cfg);

}  // namespace dkr::app
