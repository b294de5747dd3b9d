#pragma once
// Streams message content into SMTP DATA form (RFC 5321 4.5.2): a '.' starting a line is doubled,
// and the terminator is ".\r\n" after a final CRLF (added when the content lacks one). Content is
// CRLF-normalised by the inbound side, so only CRLF ends a line here: stuffing after a bare LF
// would alter the message for an RFC-conforming receiver (and break its DKIM body hash).
#include <string>
#include <string_view>
#include <vector>

namespace dkr::upstream {

class UpstreamDotStuffer {
 public:
  // Appends the stuffed form of the next piece of content to `out`; pieces may split anywhere.
  void append(std::string_view content, std::string& out);
  // Appends the end-of-data sequence.
  void finish(std::string& out);
  // The same without copying, for a gather write: the stuffed form as pieces that are views into
  // `content` (which must outlive them) and a static "." wherever a dot is doubled.
  void append_pieces(std::string_view content, std::vector<std::string_view>& pieces);
  void finish_pieces(std::vector<std::string_view>& pieces);
  // For content in which no line starts with '.' (MessageSpool::no_dot_lines): stuffing would
  // change nothing, so the content is taken as it is, without a scan; only the line state is kept.
  void append_verbatim(std::string_view content, std::string& out);
  void append_pieces_verbatim(std::string_view content, std::vector<std::string_view>& pieces);

 private:
  void take_verbatim(std::string_view content);

  bool at_line_start_ = true;
  bool after_cr_ = false;
  bool empty_ = true;
};

}  // namespace dkr::upstream
