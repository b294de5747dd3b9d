#pragma once
// RFC 6376 §3.2 tag=value lists, as in DKIM-Signature fields and DNS key records.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace dkr::signer {

struct Tag {
  std::string name;
  std::string value;  // leading/trailing FWS removed; internal FWS kept
};

class TagList {
 public:
  static Result<TagList> parse(std::string_view text);
  const std::string* find(std::string_view name) const;
  const std::vector<Tag>& tags() const { return tags_; }

 private:
  std::vector<Tag> tags_;
};

// Removes every CR, LF, SP and HTAB (FWS inside base64 and colon-separated values).
std::string strip_fws(std::string_view text);

}  // namespace dkr::signer
