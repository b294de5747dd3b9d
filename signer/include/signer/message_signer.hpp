#pragma once
// Produces DKIM-Signature header fields for one message, from one pass over the body.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "signer/algorithm.hpp"
#include "signer/message.hpp"
#include "common/result.hpp"
#include "signer/signing_key.hpp"

namespace dkr::signer {

// Headers signed when present (RFC 6376 §5.4.1 recommendations plus list and feedback headers).
const std::vector<std::string>& default_signed_headers();
// Headers signed once more than they occur, so that an added instance breaks the signature.
const std::vector<std::string>& default_oversigned_headers();

struct SignOptions {
  std::string domain;    // d=
  std::string selector;  // s=
  Canonicalization canonicalization{};
  std::vector<std::string> headers = default_signed_headers();
  std::vector<std::string> oversign = default_oversigned_headers();
  std::optional<std::string> identity;    // i=, must be in d= or a subdomain
  std::chrono::seconds expire_after{0};   // x= = t= + this, when > 0
  std::optional<std::int64_t> timestamp;  // t=; now when unset
};

struct SignRequest {
  SignOptions options;
  std::shared_ptr<const SigningKey> key;
};

// The h= list for these headers: each configured name once per occurrence, plus one for oversigned
// names (so absent oversigned names appear once).
std::vector<std::string> select_signed_headers(const std::vector<HeaderField>& headers, const SignOptions& options);

class MessageSigner {
 public:
  explicit MessageSigner(std::vector<SignRequest> requests);
  ~MessageSigner();
  MessageSigner(MessageSigner&&) noexcept;
  MessageSigner& operator=(MessageSigner&&) noexcept;

  // Body bytes exactly as in the message (after the header/body separator), in any chunking.
  void update_body(std::string_view chunk);
  // Returns the DKIM-Signature fields, each "DKIM-Signature: ...\r\n", folded at <= 78 columns,
  // in request order, ready to be prepended to the message.
  Result<std::vector<std::string>> finish(const std::vector<HeaderField>& headers);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One-shot helper: signs `message` (CRLF line ends) and returns the signature fields.
Result<std::vector<std::string>> sign_message(std::string_view message, const std::vector<SignRequest>& requests);

}  // namespace dkr::signer
