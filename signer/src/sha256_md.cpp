#include "sha256_md.hpp"

namespace dkr::signer {

const EVP_MD* sha256_md() {
  static const EVP_MD* const md = [] {
    const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return fetched != nullptr ? fetched : EVP_sha256();  // the lookup per use still works
  }();
  return md;
}

}  // namespace dkr::signer
