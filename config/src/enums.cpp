#include "enum_names.hpp"

namespace dkr::config {

std::string_view to_string(UnsignedPolicy value) { return detail::name_of(detail::kUnsignedPolicyNames, value); }
std::string_view to_string(BareLineEndings value) { return detail::name_of(detail::kBareLineEndingsNames, value); }
std::string_view to_string(UpstreamType value) { return detail::name_of(detail::kUpstreamTypeNames, value); }
std::string_view to_string(StartTls value) { return detail::name_of(detail::kStartTlsNames, value); }
std::string_view to_string(SigningAlgorithm value) { return detail::name_of(detail::kSigningAlgorithmNames, value); }
std::string_view to_string(Canon value) { return detail::name_of(detail::kCanonNames, value); }
std::string_view to_string(LogLevel value) { return detail::name_of(detail::kLogLevelNames, value); }
std::string_view to_string(LogFormat value) { return detail::name_of(detail::kLogFormatNames, value); }
std::string_view to_string(AdminRole value) { return detail::name_of(detail::kAdminRoleNames, value); }
std::string_view to_string(DnsPublishType value) { return detail::name_of(detail::kDnsPublishTypeNames, value); }

namespace detail {

std::optional<Canonicalization> parse_canonicalization(std::string_view text) {
  const auto slash = text.find('/');
  auto header = parse_name(kCanonNames, text.substr(0, slash));
  if (!header) return std::nullopt;
  if (slash == std::string_view::npos) return Canonicalization{*header, Canon::Simple};
  auto body = parse_name(kCanonNames, text.substr(slash + 1));
  if (!body) return std::nullopt;
  return Canonicalization{*header, *body};
}

std::string canonicalization_name(Canonicalization canon) {
  return std::string(to_string(canon.header)) + "/" + std::string(to_string(canon.body));
}

}  // namespace detail
}  // namespace dkr::config
