// Key store at ESP scale: 100,000 domains. Measures open (load) time, memory, signer_for
// lookups per second on one thread, an unchanged reload, and one rotation.
//   bench_keystore [DOMAINS] [WORK_DIR]
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bench_store.hpp"
#include "keystore/directory_key_store.hpp"
#include "lifecycle/key_lifecycle.hpp"

using namespace dkr;
using Clock = std::chrono::steady_clock;
using bench::domain_name;

namespace {

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// CPU time of this thread: on a shared, overloaded machine wall time mostly measures the others.
double thread_cpu_seconds() {
  timespec t{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

long status_kib(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return std::atol(line.c_str() + std::strlen(field));
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // figures show up even if the cleanup is slow
  const std::size_t domains = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 100'000;
  // tmpfs by default: the figures are about the store, not about a disk shared with other jobs.
  const std::filesystem::path base =
      std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
  const std::filesystem::path work =
      argc > 2 ? std::filesystem::path(argv[2]) : base / ("bench-keystore-" + std::to_string(::getpid()));
  std::filesystem::remove_all(work);
  std::filesystem::create_directories(work);
  ::chmod(work.c_str(), 0700);

  // One Ed25519 key shared by every domain keeps the setup fast; the store still parses one PEM
  // file per domain.
  auto key = signer::SigningKey::generate(signer::Algorithm::Ed25519Sha256);
  if (!key) {
    std::fprintf(stderr, "generate: %s\n", key.error().message.c_str());
    return 1;
  }
  const std::string pem = key->private_pem();
  const std::string record = key->dns_record();
  auto start = Clock::now();
  for (std::size_t i = 0; i < domains; ++i) {
    bench::write_directory_domain(work, domain_name(i), "s2026a", pem, record);
  }
  std::printf("setup: wrote %zu domains in %.2f s\n", domains, seconds_since(start));

  const long rss_before = status_kib("VmRSS:");
  keystore::DirectoryKeyStoreOptions options;
  options.path = work;
  start = Clock::now();
  double cpu = thread_cpu_seconds();
  auto opened = keystore::DirectoryKeyStore::open(options);
  const double load_seconds = seconds_since(start);
  const double load_cpu = thread_cpu_seconds() - cpu;
  if (!opened) {
    std::fprintf(stderr, "open: %s\n", opened.error().message.c_str());
    return 1;
  }
  auto& store = **opened;
  const auto stats = store.stats();
  std::printf("open: %zu domains, %zu active keys in %.2f s wall, %.2f s CPU (target < 5 s)\n", stats.domains,
              stats.keys_by_state[static_cast<int>(keystore::KeyState::Active)], load_seconds, load_cpu);
  std::printf("memory: VmRSS before open %ld KiB, after %ld KiB, VmHWM %ld KiB (~%.1f KiB/domain)\n", rss_before,
              status_kib("VmRSS:"), status_kib("VmHWM:"),
              static_cast<double>(status_kib("VmRSS:") - rss_before) / static_cast<double>(domains));

  // Lookups: a third exact hits, a third parent-fallback hits, a third misses, over `warm`
  // domains whose keys are parsed first (the first lookup of a domain parses its key).
  const std::size_t warm = std::min<std::size_t>(domains, 10'000);
  start = Clock::now();
  double cpu_start = thread_cpu_seconds();
  std::size_t warmed = 0;
  for (std::size_t d = 0; d < warm; ++d) warmed += store.signer_for(domain_name(d)) ? 1 : 0;
  const double warm_cpu = thread_cpu_seconds() - cpu_start;
  std::printf("first use: %zu domains' keys parsed in %.2f s CPU (%.0f us per key, OpenSSL 3 PEM decoding)\n", warmed,
              warm_cpu, warm_cpu / static_cast<double>(warm) * 1e6);

  std::vector<std::string> queries;
  const std::size_t distinct = 300'000;
  queries.reserve(distinct);
  for (std::size_t i = 0; i < distinct; ++i) {
    const std::size_t d = (i * 7919) % warm;
    switch (i % 3) {
      case 0:
        queries.push_back(domain_name(d));
        break;
      case 1:
        queries.push_back("Mail.EU." + domain_name(d));
        break;
      default:
        queries.push_back(std::string("host") + std::to_string(d) + ".nowhere.test");
        break;
    }
  }
  const std::size_t lookups = 3'000'000;
  std::size_t hits = 0;
  start = Clock::now();
  cpu_start = thread_cpu_seconds();
  for (std::size_t i = 0; i < lookups; ++i) {
    if (store.signer_for(queries[i % distinct])) ++hits;
  }
  const double lookup_seconds = seconds_since(start);
  const double lookup_cpu = thread_cpu_seconds() - cpu_start;
  std::printf(
      "signer_for: %zu lookups (1/3 exact, 1/3 parent fallback, 1/3 miss), %zu hits: %.2f M lookups per CPU "
      "second, %.2f M/s wall, one thread (target >= 1 M/s)\n",
      lookups, hits, static_cast<double>(lookups) / lookup_cpu / 1e6,
      static_cast<double>(lookups) / lookup_seconds / 1e6);

  start = Clock::now();
  const auto reloaded = store.reload();
  std::printf("reload with nothing changed: %.2f s%s\n", seconds_since(start), reloaded ? "" : " (with problems)");

  keystore::KeyParams params;
  params.algorithm = signer::Algorithm::Ed25519Sha256;
  params.selector = "s2026b";
  start = Clock::now();
  const auto staged = store.stage_key(domain_name(42), params);
  const auto activated = lifecycle::KeyLifecycle(store).activate_forced(domain_name(42), "s2026b");
  std::printf("rotation of one domain in the full store (stage + activate, fsync'd): %.1f ms%s\n",
              seconds_since(start) * 1e3, staged && activated ? "" : " FAILED");

  start = Clock::now();
  opened->reset();
  std::filesystem::remove_all(work);
  std::printf("cleanup: %.2f s\n", seconds_since(start));
  return 0;
}
