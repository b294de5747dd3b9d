#pragma once
// The received message (dot-unstuffed, CRLF line ends), held in memory up to a threshold and then
// spilled to a 0600 temp file that is unlinked when the spool is destroyed.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace dkr::upstream {

class MessageSpool {
 public:
  MessageSpool(std::uint64_t memory_threshold, std::filesystem::path spill_directory);
  ~MessageSpool();
  MessageSpool(const MessageSpool&) = delete;
  MessageSpool& operator=(const MessageSpool&) = delete;

  Result<void> append(std::string_view bytes);  // fails e.g. on disk full while spilling
  std::uint64_t size() const { return size_; }
  bool spilled() const { return fd_ >= 0; }
  // The spill file (-1 while in memory), for sendfile(2) with an explicit offset: the spool's own
  // reads use pread, so nothing depends on the file position.
  int spill_fd() const { return fd_; }

  // Reads up to `max` bytes at `offset` into `out` (replacing its contents). Empty at the end.
  Result<void> read(std::uint64_t offset, std::size_t max, std::string& out) const;
  // The content while it is held in memory (not spilled), as the blocks it lies in: readers need
  // not copy it.
  std::optional<std::vector<std::string_view>> in_memory() const;
  // Set by a writer that knows no line of the content starts with '.' (the relay's DataReader sees
  // every line): DATA then sends the content as it lies, without scanning it for dots to double.
  // Unset, the content is scanned.
  void note_no_dot_lines() { no_dot_lines_ = true; }
  bool no_dot_lines() const { return no_dot_lines_; }

 private:
  void append_to_memory(std::string_view bytes);

  std::uint64_t threshold_;
  std::filesystem::path dir_;
  // Blocks of growing capacity up to block_limit: no doubling of one string (up to twice the
  // message's size held, and a copy per step), and at most one block's capacity unused.
  std::vector<std::string> blocks_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
  bool no_dot_lines_ = false;
};

}  // namespace dkr::upstream
