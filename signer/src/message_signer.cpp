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

bool identity_in_domain(std::string_view identity, std::string_view domain) {
  const auto at = identity.rfind('@');
  if (at == std::string_view::npos) return false;
  const std::string host = ascii_lower(identity.substr(at + 1));
  const std::string d = ascii_lower(domain);
  return host == d || (host.size() > d.size() && host.ends_with("." + d));
}

}  // namespace

std::vector<std::string> select_signed_headers(const std::vector<HeaderField>& headers, const SignOptions& options) {
  // Configured names in order (options.headers, then options.oversign), each name once however it
  // is spelled: a name counts at its first mention. Going over the message's fields (about ten)
  // rather than over the configured names (about forty) keeps this to a few hundred compares.
  const std::size_t configured = options.headers.size() + options.oversign.size();
  auto nth = [&](std::size_t i) -> const std::string& {
    return i < options.headers.size() ? options.headers[i] : options.oversign[i - options.headers.size()];
  };
  auto first_mention = [&](std::string_view name) {
    std::size_t i = 0;
    while (i < configured && !header_name_equals(nth(i), name)) ++i;
    return i;  // configured when not configured at all
  };
  std::vector<std::size_t> times(configured + 1, 0);
  for (const auto& field : headers) ++times[first_mention(field.name)];
  for (std::size_t k = 0; k < options.oversign.size(); ++k) {
    const std::string& name = options.oversign[k];
    bool listed_before = false;
    for (std::size_t j = 0; j < k && !listed_before; ++j) listed_before = header_name_equals(options.oversign[j], name);
    if (!listed_before) ++times[first_mention(name)];  // once per name, however often it is listed
  }
  std::vector<std::string> h;
  h.reserve(headers.size() + options.oversign.size());
  for (std::size_t i = 0; i < configured; ++i) {
    if (times[i] == 0) continue;
    const std::string lower = ascii_lower(nth(i));
    h.insert(h.end(), times[i], lower);
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

    std::string field = fold_signature_field(tags);
    std::string data;
    data.reserve(1024);
    append_signed_headers(data, o.canonicalization.header, headers, tags.header_names);
    append_canonical_signature_field(data, o.canonicalization.header, field);
    auto signature = request.key->sign(data);
    if (!signature) return signature.error();
    append_signature_value(field, base64_encode(*signature));
    field += "\r\n";
    fields.push_back(std::move(field));
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
