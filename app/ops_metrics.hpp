#pragma once
// The series an operator's dashboards and alerts expect from any service, beside the relay's own:
// process_* from /proc, dkim_relay_build_info, and the notAfter of every TLS certificate the relay
// serves (read once at start, as the listeners load them).
#include <string>
#include <vector>

#include "config/config.hpp"

namespace dkr::app {

struct ServedCertificate {
  std::string listener;  // "smtp" or "admin": a bounded label
  std::string path;
  double not_after_seconds = 0;  // Unix time; 0 when the file could not be read
};

// The certificates configured for STARTTLS and the admin API's HTTPS; unreadable ones are logged.
std::vector<ServedCertificate> served_certificates(const config::Config& cfg);

class OpsMetrics {
 public:
  explicit OpsMetrics(std::vector<ServedCertificate> certificates);
  // Prometheus text: process_*, dkim_relay_build_info, dkim_relay_tls_certificate_not_after_seconds.
  std::string render() const;

 private:
  std::vector<ServedCertificate> certificates_;
};

}  // namespace dkr::app
