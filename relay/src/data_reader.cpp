#include "relay/data_reader.hpp"

#include <algorithm>
#include <cstring>

namespace dkr::relay {

void DataReader::fail(DataError error) {
  // The first error decides the reply, except that a smuggling attempt is always reported as such.
  if (error_ == DataError::None || error == DataError::SmuggledEnd) error_ = error;
  out_.clear();
}

void DataReader::put(char c) {
  if (error_ != DataError::None) return;
  if (++size_ > limits_.max_size) {
    fail(DataError::TooBig);
    return;
  }
  out_.push_back(c);
}

// A line ended by a lone CR or LF.
void DataReader::end_line(bool bare) {
  if (bare) {
    if (dot_first_ && !line_has_content_) {
      fail(DataError::SmuggledEnd);
    } else if (!limits_.normalize_bare_line_endings) {
      fail(DataError::BareLineEnding);
    }
  }
  if (error_ == DataError::None && limits_.max_size - size_ >= 2) {  // what two put() calls would do
    size_ += 2;
    out_.append("\r\n", 2);
  } else {
    put('\r');
    put('\n');
  }
  previous_line_bare_ = bare;
  line_length_ = 0;
  dot_first_ = false;
  line_has_content_ = false;
}

std::size_t DataReader::feed(std::string_view input, DataSink& sink) {
  std::size_t i = 0;
  const std::size_t n = input.size();
  const char* const data = input.data();
  // The next LF at or after i (n: none), kept across runs so that a line full of lone CRs does not
  // search the rest of the input again for each of them.
  std::size_t next_lf = 0;
  while (i < n && !done_) {
    char c = input[i];
    if (pending_cr_) {
      pending_cr_ = false;
      if (c == '\n') {
        ++i;
        if (dot_first_ && !line_has_content_) {
          if (!previous_line_bare_) {
            done_ = true;
            break;
          }
          // <LF>.<CR><LF> and <CR>.<CR><LF>: the end marker as another parser might see it.
          fail(DataError::SmuggledEnd);
        }
        if (++line_length_ > limits_.max_line) fail(DataError::LineTooLong);
        end_line(false);
        continue;
      }
      end_line(true);  // the CR was alone; c starts the next line and is handled below
    }
    if (c == '\r') {
      pending_cr_ = true;
      if (++line_length_ > limits_.max_line) fail(DataError::LineTooLong);
      ++i;
      continue;
    }
    if (c == '\n') {
      if (++line_length_ > limits_.max_line) fail(DataError::LineTooLong);
      end_line(true);
      ++i;
      continue;
    }
    if (line_length_ == 0 && c == '.') {
      dot_first_ = true;  // §4.5.2: the leading dot is removed (or the line is the end marker)
      ++line_length_;
      ++i;
      continue;
    }
    // A run of ordinary bytes up to the next CR or LF, copied at once.
    if (next_lf <= i) {  // stale: input[i] is no LF here
      const void* lf = std::memchr(data + i, '\n', n - i);
      next_lf = lf ? static_cast<std::size_t>(static_cast<const char*>(lf) - data) : n;
    }
    const void* cr = std::memchr(data + i, '\r', next_lf - i);
    const std::size_t end = cr ? static_cast<std::size_t>(static_cast<const char*>(cr) - data) : next_lf;
    std::size_t run = end - i;
    line_has_content_ = true;
    if (error_ == DataError::None) {
      // The reply must not depend on how TCP cut the stream: when the run crosses both limits, the
      // one crossed at the earlier byte decides, as it would if the bytes came one by one (where the
      // line limit is checked first, so it wins a tie).
      const std::uint64_t line_room = limits_.max_line - std::min<std::uint64_t>(line_length_, limits_.max_line);
      const std::uint64_t size_room = limits_.max_size - size_;  // size_ <= max_size while no error
      // A NUL counts at its own byte like the limits do; bytes before it: nul_room.
      const std::uint64_t nul_room = input.substr(i, run).find('\0');  // npos: none
      if (run > line_room && line_room <= size_room && line_room <= nul_room) {
        fail(DataError::LineTooLong);
      } else if (nul_room < run && nul_room <= size_room) {
        fail(DataError::NulByte);
      } else if (run > size_room) {
        fail(DataError::TooBig);
      } else {
        size_ += run;
        out_.append(input.substr(i, run));
      }
    }
    line_length_ += run;
    i = end;
  }
  if (!out_.empty()) {
    sink.write(out_);
    out_.clear();
  }
  return i;
}

}  // namespace dkr::relay
