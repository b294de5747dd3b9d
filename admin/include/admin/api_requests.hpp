#pragma once
// The typed request bodies of the API, parsed and validated from JSON.
#include <optional>
#include <string>
#include <string_view>

#include "signer/algorithm.hpp"
#include "common/result.hpp"

namespace dkr::admin {

struct AddDomainRequest {
  std::string domain;
  std::optional<signer::Algorithm> algorithm;
  std::optional<int> bits;
  std::optional<std::string> selector;
  bool delegated = false;  // delegated selectors: we publish the keys behind the owner's CNAMEs
};

enum class Activation { Now, AfterDns };

struct RotateRequest {
  std::optional<signer::Algorithm> algorithm;
  std::optional<int> bits;
  std::optional<std::string> selector;
  Activation activate = Activation::AfterDns;
  bool emergency = false;  // revoke the active key(s) at once
};

Result<AddDomainRequest> parse_add_domain(std::string_view body);
Result<RotateRequest> parse_rotate(std::string_view body);
// Bodies of action endpoints: empty or {}.
Result<void> parse_empty_body(std::string_view body);

// Syntax checks only; the key store normalises case and IDN.
bool is_valid_domain_name(std::string_view domain);
bool is_valid_selector(std::string_view selector);
// RSA: 2048, 3072 or 4096; Ed25519: 256 only.
Result<void> check_bits(signer::Algorithm algorithm, int bits);

}  // namespace dkr::admin
