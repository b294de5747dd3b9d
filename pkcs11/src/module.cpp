#include "module.hpp"

#include <dlfcn.h>

#include <cstdio>

namespace dkr::pkcs11 {

Result<std::unique_ptr<Module>> Module::load(const std::string& path) {
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    return make_error(ErrorCode::not_found,
                      "cannot load PKCS#11 module " + path + ": " + (why ? why : "dlopen failed"));
  }
  auto get_list = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(handle, "C_GetFunctionList"));
  CK_FUNCTION_LIST* functions = nullptr;
  if (get_list == nullptr || get_list(&functions) != CKR_OK || functions == nullptr) {
    ::dlclose(handle);
    return make_error(ErrorCode::not_found, path + " is not a PKCS#11 module (no usable C_GetFunctionList)");
  }
  return std::unique_ptr<Module>(new Module(handle, functions, path));
}

Module::~Module() {
  if (handle_ != nullptr) ::dlclose(handle_);
}

std::string rv_text(CK_RV rv) {
  const char* name = nullptr;
  switch (rv) {
    case CKR_OK:
      name = "CKR_OK";
      break;
    case CKR_GENERAL_ERROR:
      name = "CKR_GENERAL_ERROR";
      break;
    case CKR_FUNCTION_FAILED:
      name = "CKR_FUNCTION_FAILED";
      break;
    case CKR_ARGUMENTS_BAD:
      name = "CKR_ARGUMENTS_BAD";
      break;
    case CKR_DEVICE_ERROR:
      name = "CKR_DEVICE_ERROR";
      break;
    case CKR_DEVICE_MEMORY:
      name = "CKR_DEVICE_MEMORY";
      break;
    case CKR_DEVICE_REMOVED:
      name = "CKR_DEVICE_REMOVED";
      break;
    case CKR_KEY_HANDLE_INVALID:
      name = "CKR_KEY_HANDLE_INVALID";
      break;
    case CKR_MECHANISM_INVALID:
      name = "CKR_MECHANISM_INVALID";
      break;
    case CKR_OBJECT_HANDLE_INVALID:
      name = "CKR_OBJECT_HANDLE_INVALID";
      break;
    case CKR_PIN_INCORRECT:
      name = "CKR_PIN_INCORRECT";
      break;
    case CKR_PIN_LOCKED:
      name = "CKR_PIN_LOCKED";
      break;
    case CKR_SESSION_CLOSED:
      name = "CKR_SESSION_CLOSED";
      break;
    case CKR_SESSION_HANDLE_INVALID:
      name = "CKR_SESSION_HANDLE_INVALID";
      break;
    case CKR_TEMPLATE_INCOMPLETE:
      name = "CKR_TEMPLATE_INCOMPLETE";
      break;
    case CKR_TEMPLATE_INCONSISTENT:
      name = "CKR_TEMPLATE_INCONSISTENT";
      break;
    case CKR_TOKEN_NOT_PRESENT:
      name = "CKR_TOKEN_NOT_PRESENT";
      break;
    case CKR_TOKEN_NOT_RECOGNIZED:
      name = "CKR_TOKEN_NOT_RECOGNIZED";
      break;
    case CKR_USER_NOT_LOGGED_IN:
      name = "CKR_USER_NOT_LOGGED_IN";
      break;
    case CKR_USER_PIN_NOT_INITIALIZED:
      name = "CKR_USER_PIN_NOT_INITIALIZED";
      break;
    case CKR_CRYPTOKI_NOT_INITIALIZED:
      name = "CKR_CRYPTOKI_NOT_INITIALIZED";
      break;
    case CKR_ATTRIBUTE_VALUE_INVALID:
      name = "CKR_ATTRIBUTE_VALUE_INVALID";
      break;
    case CKR_DOMAIN_PARAMS_INVALID:
      name = "CKR_DOMAIN_PARAMS_INVALID";
      break;
    default:
      break;
  }
  char hex[24];
  std::snprintf(hex, sizeof hex, "0x%lx", static_cast<unsigned long>(rv));
  return name ? std::string(name) + " (" + hex + ")" : std::string(hex);
}

bool connection_lost(CK_RV rv) {
  switch (rv) {
    case CKR_GENERAL_ERROR:
    case CKR_DEVICE_ERROR:
    case CKR_DEVICE_MEMORY:
    case CKR_DEVICE_REMOVED:
    case CKR_SESSION_CLOSED:
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_TOKEN_NOT_RECOGNIZED:
    case CKR_USER_NOT_LOGGED_IN:
    case CKR_CRYPTOKI_NOT_INITIALIZED:
      return true;
    default:
      return false;
  }
}

}  // namespace dkr::pkcs11
