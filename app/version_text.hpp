#pragma once
// `dkim-relay --version`: the relay's version and the versions of the libraries it runs with, so
// that a bug report or a security notice can be matched against a running binary.
#include <string>

namespace dkr::app {

std::string version_text();

}  // namespace dkr::app
