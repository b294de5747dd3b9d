#pragma once
// Shared fixtures of the keystore tests: temp folders, stores, and signature checks made with
// OpenSSL directly (independent of the signer library's verifier).
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "keystore/directory_key_store.hpp"
#include "test_support/temp_dir.hpp"

namespace dkr::keystore::test {

using dkr::test::TempDir;

// tmpfs, where fsync costs nothing: for tests about concurrency rather than durability.
inline std::filesystem::path memory_backed_temp() {
  std::error_code ec;
  if (std::filesystem::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0) {
    return "/dev/shm";
  }
  return std::filesystem::temp_directory_path();
}

inline DirectoryKeyStoreOptions options_for(const std::filesystem::path& path) {
  DirectoryKeyStoreOptions options;
  options.path = path;
  options.clock = [] { return std::int64_t{1'790'000'000}; };  // 2026-09-21T...Z
  return options;
}

inline std::unique_ptr<DirectoryKeyStore> open_store(const DirectoryKeyStoreOptions& options) {
  auto store = DirectoryKeyStore::open(options);
  if (!store) throw std::runtime_error(store.error().message);
  return std::move(*store);
}

inline std::unique_ptr<DirectoryKeyStore> open_store(const std::filesystem::path& path) {
  return open_store(options_for(path));
}

inline KeyParams ed25519(std::optional<std::string> selector = std::nullopt) {
  KeyParams params;
  params.algorithm = signer::Algorithm::Ed25519Sha256;
  params.selector = std::move(selector);
  return params;
}

inline std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline void write_text(const std::filesystem::path& file, const std::string& text) {
  std::ofstream(file, std::ios::binary) << text;
}

inline mode_t mode_of(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

// Value of tag `name` in a "v=DKIM1; k=rsa; p=..." record.
inline std::string record_tag(const std::string& record, const std::string& name) {
  std::istringstream in(record);
  std::string part;
  while (std::getline(in, part, ';')) {
    const auto start = part.find_first_not_of(" \t");
    if (start == std::string::npos) continue;
    part = part.substr(start);
    if (part.rfind(name + "=", 0) == 0) {
      std::string value = part.substr(name.size() + 1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
      return value;
    }
  }
  return {};
}

inline std::string base64_decode(const std::string& text) {
  std::string out(text.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return {};
  std::size_t length = static_cast<std::size_t>(n);
  if (text.size() >= 1 && text.back() == '=') --length;
  if (text.size() >= 2 && text[text.size() - 2] == '=') --length;
  out.resize(length);
  return out;
}

// Verifies a DKIM signature over `data` against a DNS key record, with OpenSSL only:
// RSASSA-PKCS1-v1_5/SHA-256, or Ed25519 over SHA-256(data) (RFC 8463 §3).
inline bool verify_with_record(const std::string& record, std::string_view data, const std::string& signature) {
  const std::string key_bytes = base64_decode(record_tag(record, "p"));
  if (key_bytes.empty()) return false;
  const bool ed = record_tag(record, "k") == "ed25519";
  EVP_PKEY* key = nullptr;
  if (ed) {
    key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                      reinterpret_cast<const unsigned char*>(key_bytes.data()), key_bytes.size());
  } else {
    const auto* p = reinterpret_cast<const unsigned char*>(key_bytes.data());
    key = d2i_PUBKEY(nullptr, &p, static_cast<long>(key_bytes.size()));
  }
  if (key == nullptr) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = false;
  const auto* sig = reinterpret_cast<const unsigned char*>(signature.data());
  if (ed) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
    ok = EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key) == 1 &&
         EVP_DigestVerify(ctx, sig, signature.size(), digest, sizeof digest) == 1;
  } else {
    ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
         EVP_DigestVerify(ctx, sig, signature.size(), reinterpret_cast<const unsigned char*>(data.data()),
                          data.size()) == 1;
  }
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  return ok;
}

// Polls `condition` until it holds or the deadline passes.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

// The selector that signs the domain with this algorithm, "" when none does.
inline std::string active_selector(const KeyStore& store, const std::string& domain, signer::Algorithm algorithm) {
  auto set = store.signer_for(domain);
  if (!set) return {};
  for (const auto& key : set->keys) {
    if (key.key->algorithm() == algorithm) return key.selector;
  }
  return {};
}

}  // namespace dkr::keystore::test
