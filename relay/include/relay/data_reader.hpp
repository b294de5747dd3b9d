#pragma once
// The DATA phase as a streaming state machine (RFC 5321 §4.1.1.4, §4.5.2): finds the end marker
// <CRLF>.<CRLF>, removes dot-stuffing, enforces the size and line limits without buffering past
// them, and refuses lone CR or LF, the raw material of SMTP smuggling (CVE-2023-51764 and kin).
//
// Only CR LF "." CR LF ends the message. A line "." next to a lone CR or LF (<LF>.<LF>,
// <LF>.<CR><LF>, <CR><LF>.<LF>, ...) never does, and it is an error in both bare_line_endings modes: what follows it
// was meant by the client to be outside the message, so passing it on would let the smuggled part through. After any
// error the reader stops emitting and discards until the real end marker, so that the session can answer the message
// with one reply and stay in sync with the client.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dkr::relay {

enum class DataError {
  None,
  TooBig,          // more unstuffed bytes than max_size
  LineTooLong,     // a line longer than max_line bytes incl. CRLF (counted as sent, stuffing included)
  BareLineEnding,  // a lone CR or LF (reject mode)
  SmuggledEnd,     // a "." line ended by a lone CR or LF: an end-of-data smuggling attempt
  NulByte,         // a NUL anywhere in the message: not text, and we do not offer BINARYMIME (RFC 3030)
};

struct DataLimits {
  std::uint64_t max_size = UINT64_MAX;
  std::uint32_t max_line = 1000;
  bool normalize_bare_line_endings = false;  // lone CR or LF becomes CRLF instead of an error
};

class DataSink {
 public:
  virtual ~DataSink() = default;
  virtual void write(std::string_view bytes) = 0;
};

class DataReader {
 public:
  explicit DataReader(DataLimits limits) : limits_(limits) {}

  // Consumes bytes up to and including the end marker; returns how many were consumed (less than
  // input.size() only when the end marker was found: the rest belongs to the next commands).
  std::size_t feed(std::string_view input, DataSink& sink);

  bool done() const { return done_; }
  DataError error() const { return error_; }
  std::uint64_t size() const { return size_; }  // unstuffed bytes emitted, or counted until TooBig
  // Whether a line of the emitted content starts with '.' (sent as ".." by the client). When none
  // does, the content goes upstream as it is: DATA's dot-stuffing would change nothing.
  bool content_has_dot_line() const { return content_has_dot_line_; }

 private:
  void fail(DataError error);
  void end_line(bool bare, std::string_view crlf);
  void emit(std::string_view bytes);
  std::size_t pass_whole_lines(const char* data, std::size_t i, std::size_t n);
  void deliver(DataSink& sink);

  DataLimits limits_;
  bool done_ = false;
  DataError error_ = DataError::None;
  std::uint64_t size_ = 0;
  std::uint64_t line_length_ = 0;  // raw bytes of the current line so far, CR included
  bool pending_cr_ = false;
  bool dot_first_ = false;           // the current line began with a dot (dropped: stuffing or end)
  bool line_has_content_ = false;    // anything after the leading dot
  bool previous_line_bare_ = false;  // the line before ended with a lone CR or LF
  bool content_has_dot_line_ = false;
  std::vector<std::string_view> pieces_;  // emitted bytes of the current feed() call (views, no copy)
  std::string joined_;                    // many short pieces copied into one (deliver())
};

}  // namespace dkr::relay
