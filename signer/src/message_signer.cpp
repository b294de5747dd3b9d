#include "signer/message_signer.hpp"

#include <algorithm>
#include <ctime>
#include <map>

#include "signature_field.hpp"
#include "signer/body_hasher.hpp"

namespace dkr::signer {

const std::vector<std::string>& default_signed_headers() {
  static const std::vector<std::string> names = {"From",
                                                 "Reply-To",
                                                 "Subject",
                                                 "Date",
                                                 "To",
                                                 "Cc",
                                                 "Message-ID",
                                                 "In-Reply-To",
                                                 "References",
                                                 "MIME-Version",
                                                 "Content-Type",
                                                 "Content-Transfer-Encoding",
                                                 "Content-Disposition",
                                                 "Content-ID",
                                                 "Content-Description",
                                                 "Resent-Date",
                                                 "Resent-From",
                                                 "Resent-To",
                                                 "Resent-Cc",
                                                 "Resent-Message-ID",
                                                 "List-Id",
                                                 "List-Help",
                                                 "List-Unsubscribe",
                                                 "List-Unsubscribe-Post",
                                                 "List-Subscribe",
                                                 "List-Post",
                                                 "List-Owner",
                                                 "List-Archive",
                                                 "Feedback-ID",
                                                 "Sender",
                                                 "Precedence",
                                                 "Auto-Submitted"};
  return names;
}

const std::vector<std::string>& default_oversigned_headers() {
  static const std::vector<std::string> names = {"From", "Subject", "Date", "To", "Cc", "Reply-To", "Message-ID"};
  return names;
}

namespace {

bool contains_name(const std::vector<std::string>& names, std::string_view name) {
  return std::any_of(names.begin(), names.end(), [&](const std::string& n) { return header_name_equals(n, name); });
}

bool identity_in_domain(std::string_view identity, std::string_view domain) {
  const auto at = identity.rfind('@');
  if (at == std::string_view::npos) return false;
  const std::string host = ascii_lower(identity.substr(at + 1));
  const std::string d = ascii_lower(domain);
  return host == d || (host.size() > d.size() && host.ends_with("." + d));
}

}  // namespace

std::vector<std::string> select_signed_headers(const std::vector<HeaderField>& headers, const SignOptions& options) {
  std::vector<std::string> order;
  for (const auto& n : options.headers)
    if (!contains_name(order, n)) order.push_back(n);
  for (const auto& n : options.oversign)
    if (!contains_name(order, n)) order.push_back(n);

  std::vector<std::string> h;
  for (const auto& name : order) {
    const auto count = static_cast<std::size_t>(std::count_if(
        headers.begin(), headers.end(), [&](const HeaderField& f) { return header_name_equals(f.name, name); }));
    const bool oversign = contains_name(options.oversign, name);
    const std::size_t times = count + (oversign ? 1 : 0);
    for (std::size_t i = 0; i < times; ++i) h.push_back(ascii_lower(name));
  }
  return h;
}

struct MessageSigner::Impl {
  std::vector<SignRequest> requests;
  std::map<Canon, std::unique_ptr<BodyHasher>> hashers;  // one per body canonicalization in use
};

MessageSigner::MessageSigner(std::vector<SignRequest> requests) : impl_(std::make_unique<Impl>()) {
  impl_->requests = std::move(requests);
  for (const auto& r : impl_->requests) {
    auto& hasher = impl_->hashers[r.options.canonicalization.body];
    if (!hasher) hasher = std::make_unique<BodyHasher>(r.options.canonicalization.body);
  }
}
MessageSigner::~MessageSigner() = default;
MessageSigner::MessageSigner(MessageSigner&&) noexcept = default;
MessageSigner& MessageSigner::operator=(MessageSigner&&) noexcept = default;

void MessageSigner::update_body(std::string_view chunk) {
  for (auto& [canon, hasher] : impl_->hashers) hasher->update(chunk);
}

Result<std::vector<std::string>> MessageSigner::finish(const std::vector<HeaderField>& headers) {
  std::map<Canon, std::string> body_hashes;
  for (auto& [canon, hasher] : impl_->hashers) {
    const Sha256Digest digest = hasher->finish();
    body_hashes[canon] = base64_encode(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
  }

  std::vector<std::string> fields;
  fields.reserve(impl_->requests.size());
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  for (const auto& request : impl_->requests) {
    const SignOptions& o = request.options;
    if (!request.key) return make_error("no signing key");
    if (o.domain.empty() || o.selector.empty()) return make_error("domain and selector are required");
    if (o.identity && !identity_in_domain(*o.identity, o.domain))
      return make_error("identity i=" + *o.identity + " is not within d=" + o.domain);

    SignatureTags tags;
    const std::int64_t t = o.timestamp.value_or(now);
    tags.plain = {"v=1",
                  "a=" + std::string(to_string(request.key->algorithm())),
                  "c=" + to_string(o.canonicalization),
                  "d=" + o.domain,
                  "s=" + o.selector,
                  "t=" + std::to_string(t)};
    if (o.expire_after.count() > 0) tags.plain.push_back("x=" + std::to_string(t + o.expire_after.count()));
    if (o.identity) tags.plain.push_back("i=" + *o.identity);
    tags.header_names = select_signed_headers(headers, o);
    tags.body_hash_b64 = body_hashes[o.canonicalization.body];

    const std::string unsigned_field = fold_signature_field(tags, "");
    std::string data;
    append_signed_headers(data, o.canonicalization.header, headers, tags.header_names);
    data += canonicalize_signature_field(o.canonicalization.header, unsigned_field);
    auto signature = request.key->sign(data);
    if (!signature) return signature.error();
    fields.push_back(fold_signature_field(tags, base64_encode(*signature)) + "\r\n");
  }
  return fields;
}

Result<std::vector<std::string>> sign_message(std::string_view message, const std::vector<SignRequest>& requests) {
  const SplitMessage split = split_message(message);
  MessageSigner signer(requests);
  signer.update_body(split.body);
  return signer.finish(split.headers);
}

}  // namespace dkr::signer
