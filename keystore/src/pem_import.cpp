#include <openssl/crypto.h>

#include "durable_file.hpp"
#include "keystore/key_transfer.hpp"

namespace dkr::keystore {

Result<SelectorInfo> import_pem_file(KeyTransfer& into, std::string_view domain, std::string_view selector,
                                     const std::filesystem::path& pem_path) {
  auto pem = read_file(pem_path);
  if (!pem) return pem.error();
  SelectorInfo wanted;
  wanted.selector = std::string(selector);
  wanted.state = KeyState::Active;
  auto imported = into.import_key(domain, wanted, *pem);
  OPENSSL_cleanse(pem->data(), pem->size());
  if (!imported && imported.error().code == ErrorCode::invalid) {
    return make_error(ErrorCode::invalid, pem_path.string() + ": " + imported.error().message);
  }
  return imported;
}

}  // namespace dkr::keystore
