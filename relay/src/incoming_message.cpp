#include "incoming_message.hpp"

#include <spdlog/spdlog.h>

#include "signer/message.hpp"

namespace dkr::relay {

IncomingMessage::IncomingMessage(const RelaySettings& settings, const keystore::KeyStore& keys, SigningScope scope)
    : settings_(settings),
      keys_(keys),
      scope_(std::move(scope)),
      spool_(std::make_shared<MessageSpool>(settings.spill_threshold, settings.spill_directory)) {}

void IncomingMessage::write(std::string_view bytes) {
  if (failure_) return;
  if (auto appended = spool_->append(bytes); !appended) {
    spdlog::error("spool: {}", appended.error().message);
    failure_ = make_reply(451, "4.3.0", "Local error in processing, try again later");
    return;
  }
  if (headers_done_) {
    if (signer_) signer_->update_body(bytes);
    return;
  }
  std::size_t searched_from = header_section_.size() >= 3 ? header_section_.size() - 3 : 0;
  header_section_.append(bytes);
  std::size_t body_start = std::string::npos;
  std::size_t header_end = 0;  // keeps the last field's CRLF, drops the empty line
  if (header_section_.starts_with("\r\n")) {
    body_start = 2;  // no header fields at all
  } else if (auto end = header_section_.find("\r\n\r\n", searched_from); end != std::string::npos) {
    body_start = end + 4;
    header_end = end + 2;
  }
  if (body_start == std::string::npos) {
    if (header_section_.size() > settings_.max_header_section) {
      failure_ = make_reply(552, "5.3.4", "Header section too large");
    }
    return;
  }
  std::string body_part = header_section_.substr(body_start);
  header_section_.resize(header_end);
  headers_done_ = true;
  headers_complete();
  if (signer_ && !body_part.empty()) signer_->update_body(body_part);
}

void IncomingMessage::headers_complete() {
  plan_ = plan_signing(header_section_, keys_, settings_, scope_);
  if (!plan_.refusal && !plan_.requests.empty()) signer_.emplace(plan_.requests);
}

const SigningPlan& IncomingMessage::finish_plan() {
  if (!headers_done_) {
    headers_done_ = true;
    headers_complete();
  }
  return plan_;
}

Result<std::vector<std::string>> IncomingMessage::sign() {
  if (!signer_) return make_error("nothing to sign");
  return signer_->finish(signer::parse_header_fields(header_section_));
}

}  // namespace dkr::relay
