#pragma once
// The receiving end of DATA: keeps the whole message in the spool, the header section in memory,
// and feeds the body to the signer as it arrives, so that signing needs one pass and no re-read.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "relay/data_reader.hpp"
#include "relay/upstream_vocabulary.hpp"
#include "signer/message_signer.hpp"
#include "signing_plan.hpp"

namespace dkr::relay {

class IncomingMessage : public DataSink {
 public:
  IncomingMessage(const RelaySettings& settings, const keystore::KeyStore& keys, SigningScope scope);

  void write(std::string_view bytes) override;

  // After the end of data: completes the plan (a message without an empty line is all header).
  const SigningPlan& finish_plan();
  // The DKIM-Signature fields, or an error when signing failed. Only when plan has requests.
  Result<std::vector<std::string>> sign();

  // A local failure while receiving (spool write error, oversized header section).
  const std::optional<SmtpReply>& failure() const { return failure_; }
  std::shared_ptr<const MessageSpool> spool() const { return spool_; }
  // The reader found no line starting with '.': the spool may go upstream without dot-stuffing.
  void note_no_dot_lines() { spool_->note_no_dot_lines(); }

 private:
  void headers_complete();

  const RelaySettings& settings_;
  const keystore::KeyStore& keys_;
  SigningScope scope_;
  std::shared_ptr<MessageSpool> spool_;
  std::string header_section_;
  bool headers_done_ = false;
  SigningPlan plan_;
  std::optional<signer::MessageSigner> signer_;
  std::optional<SmtpReply> failure_;
};

}  // namespace dkr::relay
