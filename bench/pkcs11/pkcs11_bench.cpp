// Sign rate through a PKCS#11 token against in-process OpenSSL, in one run (bench/pkcs11/README.md).
//   pkcs11_bench MODULE TOKEN_LABEL PIN_FILE [SECONDS]
// Prints one line per case: signatures/s (one thread, wall clock), this process's CPU per signature,
// and the ratio to the in-process rate of the same algorithm.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "pkcs11/pkcs11_vault.hpp"
#include "signer/signing_key.hpp"

namespace {

using dkr::signer::Algorithm;
using dkr::signer::SigningKey;

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

struct Rate {
  double per_second = 0;
  double cpu_ms = 0;
};

Rate measure(const SigningKey& key, double seconds) {
  // 1 KB of header data, about what a relaxed header section of a 2 KB message signs.
  const std::string data(1024, 'h');
  const auto start = std::chrono::steady_clock::now();
  const double cpu_start = cpu_seconds();
  long count = 0;
  while (true) {
    auto signature = key.sign(data);
    if (!signature) {
      std::fprintf(stderr, "sign failed: %s\n", signature.error().message.c_str());
      std::exit(1);
    }
    ++count;
    if ((count & 15) == 0 && std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >= seconds)
      break;
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return Rate{static_cast<double>(count) / wall, (cpu_seconds() - cpu_start) * 1000.0 / static_cast<double>(count)};
}

void report(const char* name, const Rate& rate, const Rate& baseline) {
  std::printf("%-44s %9.0f sign/s  %7.3f ms CPU/sign (this process)  %5.2fx in-process\n", name, rate.per_second,
              rate.cpu_ms, rate.per_second / baseline.per_second);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: pkcs11_bench MODULE TOKEN_LABEL PIN_FILE [SECONDS]\n");
    return 2;
  }
  const double seconds = argc > 4 ? std::stod(argv[4]) : 3.0;
  std::ifstream pin_in(argv[3]);
  std::stringstream pin_text;
  pin_text << pin_in.rdbuf();
  std::string pin = pin_text.str();
  while (!pin.empty() && (pin.back() == '\n' || pin.back() == '\r')) pin.pop_back();

  auto rsa_local = SigningKey::generate(Algorithm::RsaSha256, 2048);
  auto ed_local = SigningKey::generate(Algorithm::Ed25519Sha256);
  const Rate rsa_base = measure(*rsa_local, seconds);
  report("RSA-2048 in-process OpenSSL", rsa_base, rsa_base);

  std::string rsa_stored;
  std::string ed_stored;
  for (auto mechanism : {dkr::pkcs11::RsaMechanism::RsaPkcsDigestInfo, dkr::pkcs11::RsaMechanism::Sha256RsaPkcs}) {
    dkr::pkcs11::TokenSettings settings{argv[1], argv[2], pin, mechanism, 500};
    auto vault = dkr::pkcs11::Pkcs11Vault::connect(settings);
    if (!vault) {
      std::fprintf(stderr, "%s\n", vault.error().message.c_str());
      return 1;
    }
    if (rsa_stored.empty()) {
      auto made = (*vault)->generate(Algorithm::RsaSha256, 2048, "bench");
      if (!made) {
        std::fprintf(stderr, "%s\n", made.error().message.c_str());
        return 1;
      }
      rsa_stored = made->stored;
    }
    auto key = (*vault)->open(rsa_stored, {});
    report(mechanism == dkr::pkcs11::RsaMechanism::RsaPkcsDigestInfo ? "RSA-2048 token, CKM_RSA_PKCS over DigestInfo"
                                                                     : "RSA-2048 token, CKM_SHA256_RSA_PKCS",
           measure(*key, seconds), rsa_base);
    if (mechanism == dkr::pkcs11::RsaMechanism::Sha256RsaPkcs) (void)(*vault)->destroy(rsa_stored);
  }

  const Rate ed_base = measure(*ed_local, seconds);
  report("Ed25519 in-process OpenSSL", ed_base, ed_base);
  dkr::pkcs11::TokenSettings settings{argv[1], argv[2], pin, dkr::pkcs11::RsaMechanism::RsaPkcsDigestInfo, 500};
  auto vault = dkr::pkcs11::Pkcs11Vault::connect(settings);
  if (vault && (*vault)->supports_ed25519()) {
    auto made = (*vault)->generate(Algorithm::Ed25519Sha256, 256, "bench");
    if (made) {
      report("Ed25519 token, CKM_EDDSA", measure(made->key, seconds), ed_base);
      (void)(*vault)->destroy(made->stored);
    }
  } else {
    std::printf("%-44s not offered by this module\n", "Ed25519 token, CKM_EDDSA");
  }
  return 0;
}
