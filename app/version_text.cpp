#include "version_text.hpp"

#include <ares.h>
#include <fmt/core.h>
#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <spdlog/version.h>

#include <boost/version.hpp>
#include <sstream>

#include "config/library_version.hpp"

namespace dkr::app {

namespace {

// 150012 -> "15.12"; before PostgreSQL 10: 90624 -> "9.6.24".
std::string libpq_version(int v) {
  if (v >= 100000) return std::to_string(v / 10000) + "." + std::to_string(v % 10000);
  return std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100);
}

}  // namespace

std::string version_text() {
  std::ostringstream out;
  out << "dkim-relay " << DKIM_RELAY_VERSION << "\n";
  // Shared libraries report what is loaded now; header-only ones what the binary was built with.
  out << "  OpenSSL    " << OpenSSL_version(OPENSSL_VERSION) << "\n";
  out << "  Boost      " << BOOST_VERSION / 100000 << "." << BOOST_VERSION / 100 % 1000 << "." << BOOST_VERSION % 100
      << "\n";
  out << "  spdlog     " << SPDLOG_VER_MAJOR << "." << SPDLOG_VER_MINOR << "." << SPDLOG_VER_PATCH << " (fmt "
      << FMT_VERSION / 10000 << "." << FMT_VERSION / 100 % 100 << "." << FMT_VERSION % 100 << ")\n";
  out << "  toml++     " << config::toml_library_version() << "\n";
  out << "  libpq      " << libpq_version(PQlibVersion()) << "\n";
  out << "  c-ares     " << ares_version(nullptr) << "\n";
#ifdef DKIM_RELAY_LIBSYSTEMD_VERSION
  out << "  libsystemd " << DKIM_RELAY_LIBSYSTEMD_VERSION << " (sd_notify)\n";
#endif
  return out.str();
}

}  // namespace dkr::app
