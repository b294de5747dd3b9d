#include "admin/api_requests.hpp"

#include "admin/api_names.hpp"
#include "admin/json_body.hpp"

namespace dkr::admin {
namespace {

bool is_ldh(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'; }

// Labels of 1..63 bytes separated by dots. `allow_utf8`: IDN U-labels are passed to the key store,
// which converts them to A-labels.
bool is_valid_name(std::string_view name, bool allow_utf8, bool allow_underscore) {
  if (name.empty() || name.size() > 253) return false;
  if (name.back() == '.') name.remove_suffix(1);
  std::size_t label = 0;
  for (const char c : name) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    const bool ok =
        is_ldh(c) || (allow_utf8 && static_cast<unsigned char>(c) >= 0x80) || (allow_underscore && c == '_');
    if (!ok || ++label > 63) return false;
  }
  return label > 0;
}

Result<std::optional<signer::Algorithm>> read_algorithm(const nlohmann::json& object) {
  if (!object.contains("algorithm")) return std::optional<signer::Algorithm>{};
  const std::string name = object.at("algorithm").get<std::string>();
  const auto algorithm = parse_algorithm_name(name);
  if (!algorithm) {
    return make_error("field 'algorithm' must be \"rsa-sha256\" or \"ed25519-sha256\", not \"" + name + "\"");
  }
  return std::optional<signer::Algorithm>{*algorithm};
}

Result<std::optional<std::string>> read_selector(const nlohmann::json& object) {
  if (!object.contains("selector")) return std::optional<std::string>{};
  std::string selector = object.at("selector").get<std::string>();
  if (!is_valid_selector(selector)) {
    return make_error("field 'selector' must be a DNS label sequence (letters, digits, '-', '.'), not \"" + selector +
                      "\"");
  }
  return std::optional<std::string>{std::move(selector)};
}

Result<std::optional<int>> read_bits(const nlohmann::json& object, std::optional<signer::Algorithm> algorithm) {
  if (!object.contains("bits")) return std::optional<int>{};
  const auto& value = object.at("bits");
  if (value.is_number_unsigned() ? value.get<std::uint64_t>() > 1u << 20
                                 : (value.get<std::int64_t>() < 0 || value.get<std::int64_t>() > 1 << 20)) {
    return make_error("field 'bits' is out of range");
  }
  const int bits = value.get<int>();
  if (auto ok = check_bits(algorithm.value_or(signer::Algorithm::RsaSha256), bits); !ok) return ok.error();
  return std::optional<int>{bits};
}

}  // namespace

bool is_valid_domain_name(std::string_view domain) { return is_valid_name(domain, true, false); }

bool is_valid_selector(std::string_view selector) {
  return !selector.empty() && selector.size() <= 63 && selector.back() != '.' && is_valid_name(selector, false, false);
}

Result<void> check_bits(signer::Algorithm algorithm, int bits) {
  if (algorithm == signer::Algorithm::Ed25519Sha256) {
    if (bits != 256) return make_error("field 'bits' must be 256 for ed25519-sha256 (or left out)");
    return {};
  }
  if (bits != 2048 && bits != 3072 && bits != 4096) {
    return make_error("field 'bits' must be 2048, 3072 or 4096 for rsa-sha256, not " + std::to_string(bits));
  }
  return {};
}

Result<AddDomainRequest> parse_add_domain(std::string_view body) {
  auto object = parse_json_object(body);
  if (!object) return object.error();
  if (auto ok = check_fields(*object, {{"domain", FieldType::String, true},
                                       {"algorithm", FieldType::String},
                                       {"bits", FieldType::Integer},
                                       {"selector", FieldType::String},
                                       {"delegated", FieldType::Boolean}});
      !ok) {
    return ok.error();
  }
  AddDomainRequest request;
  if (object->contains("delegated")) request.delegated = object->at("delegated").get<bool>();
  request.domain = object->at("domain").get<std::string>();
  if (!is_valid_domain_name(request.domain)) {
    return make_error("field 'domain' is not a valid domain name: \"" + request.domain + "\"");
  }
  auto algorithm = read_algorithm(*object);
  if (!algorithm) return algorithm.error();
  request.algorithm = *algorithm;
  auto bits = read_bits(*object, request.algorithm);
  if (!bits) return bits.error();
  request.bits = *bits;
  auto selector = read_selector(*object);
  if (!selector) return selector.error();
  request.selector = std::move(*selector);
  if (request.delegated && request.selector) {
    return make_error("field 'selector' cannot be set for a delegated domain: its keys go into the slots");
  }
  return request;
}

Result<RotateRequest> parse_rotate(std::string_view body) {
  auto object = parse_json_object(body);
  if (!object) return object.error();
  if (auto ok = check_fields(*object, {{"activate", FieldType::String, true},
                                       {"algorithm", FieldType::String},
                                       {"bits", FieldType::Integer},
                                       {"selector", FieldType::String},
                                       {"emergency", FieldType::Boolean}});
      !ok) {
    return ok.error();
  }
  RotateRequest request;
  if (object->contains("emergency")) request.emergency = object->at("emergency").get<bool>();
  const std::string activate = object->at("activate").get<std::string>();
  if (activate == "now") {
    request.activate = Activation::Now;
  } else if (activate == "after_dns") {
    request.activate = Activation::AfterDns;
  } else {
    return make_error("field 'activate' must be \"now\" or \"after_dns\", not \"" + activate + "\"");
  }
  auto algorithm = read_algorithm(*object);
  if (!algorithm) return algorithm.error();
  request.algorithm = *algorithm;
  // Without an explicit algorithm the bits are checked against the algorithm rotated, later.
  if (request.algorithm) {
    auto bits = read_bits(*object, request.algorithm);
    if (!bits) return bits.error();
    request.bits = *bits;
  } else if (object->contains("bits")) {
    const auto& value = object->at("bits");
    if (!value.is_number_integer() || value.get<std::int64_t>() < 0 || value.get<std::int64_t>() > 1 << 20) {
      return make_error("field 'bits' is out of range");
    }
    request.bits = value.get<int>();
  }
  auto selector = read_selector(*object);
  if (!selector) return selector.error();
  request.selector = std::move(*selector);
  return request;
}

Result<void> parse_empty_body(std::string_view body) {
  auto object = parse_json_object(body);
  if (!object) return object.error();
  return check_fields(*object, {});
}

}  // namespace dkr::admin
