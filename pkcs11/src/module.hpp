#pragma once
// A PKCS#11 module loaded with dlopen, and the names of its return values for messages.
#include <p11-kit/pkcs11.h>

#include <memory>
#include <string>

#include "common/result.hpp"

namespace dkr::pkcs11 {

class Module {
 public:
  // ErrorCode::not_found when the file is missing or is not a PKCS#11 module.
  static Result<std::unique_ptr<Module>> load(const std::string& path);
  ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  CK_FUNCTION_LIST* functions() const { return functions_; }
  const std::string& path() const { return path_; }

 private:
  Module(void* handle, CK_FUNCTION_LIST* functions, std::string path)
      : handle_(handle), functions_(functions), path_(std::move(path)) {}
  void* handle_;
  CK_FUNCTION_LIST* functions_;
  std::string path_;
};

// "CKR_PIN_INCORRECT (0xa0)".
std::string rv_text(CK_RV rv);

// Whether `rv` says the token, its session or the connection to it is gone (as opposed to a problem
// with one key or one request): the token must then be reconnected.
bool connection_lost(CK_RV rv);

}  // namespace dkr::pkcs11
