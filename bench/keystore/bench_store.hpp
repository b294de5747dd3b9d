#pragma once
// Lays out a directory key store of many domains directly on disk (one shared key, one selector
// each) for the keystore benchmarks: much faster than generating a key per domain through the store.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "domain_metadata.hpp"

namespace dkr::bench {

inline void write_private_file(const std::filesystem::path& path, const std::string& content) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || ::write(fd, content.data(), content.size()) != static_cast<ssize_t>(content.size())) {
    std::perror(path.c_str());
    std::exit(1);
  }
  ::close(fd);
}

inline std::string domain_name(std::size_t i) { return std::string("customer") + std::to_string(i) + ".example"; }

// <root>/<name>/<selector>.pem and keys.json with that selector active (Ed25519).
inline void write_directory_domain(const std::filesystem::path& root, const std::string& name,
                                   const std::string& selector, const std::string& pem, const std::string& record) {
  const auto dir = root / name;
  ::mkdir(dir.c_str(), 0700);
  write_private_file(dir / (selector + ".pem"), pem);
  keystore::SelectorInfo info;
  info.selector = selector;
  info.algorithm = signer::Algorithm::Ed25519Sha256;
  info.bits = 256;
  info.state = keystore::KeyState::Active;
  info.created_at = info.activated_at = 1'790'000'000;
  info.dns_record = record;
  write_private_file(dir / "keys.json", keystore::serialize_metadata({name, {info}}));
}

}  // namespace dkr::bench
