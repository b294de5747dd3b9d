#include "ops_metrics.hpp"

#include <cstdio>
#include <memory>

#include <boost/version.hpp>
#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include "common/process_metrics.hpp"
#include "common/prometheus_text.hpp"

namespace dkr::app {
namespace {

// The first certificate of a PEM chain is the one the listener presents.
double not_after(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "r"), &std::fclose);
  if (!file) return 0;
  std::unique_ptr<X509, void (*)(X509*)> cert(PEM_read_X509(file.get(), nullptr, nullptr, nullptr), &X509_free);
  if (!cert) return 0;
  std::unique_ptr<ASN1_TIME, void (*)(ASN1_TIME*)> epoch(ASN1_TIME_set(nullptr, 0), &ASN1_TIME_free);
  int days = 0;
  int seconds = 0;
  if (!epoch || ASN1_TIME_diff(&days, &seconds, epoch.get(), X509_get0_notAfter(cert.get())) != 1) return 0;
  return static_cast<double>(days) * 86400.0 + seconds;
}

std::string boost_version() {
  return std::to_string(BOOST_VERSION / 100000) + "." + std::to_string(BOOST_VERSION / 100 % 1000) + "." +
         std::to_string(BOOST_VERSION % 100);
}

}  // namespace

std::vector<ServedCertificate> served_certificates(const config::Config& cfg) {
  std::vector<ServedCertificate> out;
  auto add = [&](std::string listener, const std::string& path) {
    if (path.empty()) return;
    ServedCertificate cert{std::move(listener), path, not_after(path)};
    if (cert.not_after_seconds == 0) spdlog::warn("metrics: cannot read the notAfter of certificate {}", path);
    out.push_back(std::move(cert));
  };
  add("smtp", cfg.relay.tls_cert);
  add("smtp_extra", cfg.relay.tls_extra_cert);
  if (cfg.admin.enabled) add("admin", cfg.admin.tls_cert);
  return out;
}

OpsMetrics::OpsMetrics(std::vector<ServedCertificate> certificates) : certificates_(std::move(certificates)) {}

std::string OpsMetrics::render() const {
  PrometheusText out;
  write_process_metrics(out);
  out.family("dkim_relay_build_info", "gauge", "Always 1; the labels say which build and libraries run.");
  out.sample("dkim_relay_build_info",
             {{"version", DKIM_RELAY_VERSION},
              {"openssl", OpenSSL_version(OPENSSL_VERSION_STRING)},
              {"boost", boost_version()}},
             1);
  out.family("dkim_relay_tls_certificate_not_after_seconds", "gauge",
             "Expiry (notAfter, Unix seconds) of each TLS certificate the relay serves, by listener.");
  for (const auto& cert : certificates_) {
    out.sample_double("dkim_relay_tls_certificate_not_after_seconds", {{"listener", cert.listener}},
                      cert.not_after_seconds);
  }
  return std::move(out).text();
}

}  // namespace dkr::app
