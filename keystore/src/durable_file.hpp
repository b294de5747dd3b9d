#pragma once
// Crash-safe file updates: temp file + fsync + rename + fsync(directory).
#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace dkr::keystore {

// Temp files are ".<target name>.tmp.<pid>.<n>" beside the target; is_temp_file recognises them.
bool is_temp_file(std::string_view file_name);

// Replaces `target` atomically with `content`, created with exactly `mode`.
Result<void> write_file_durably(const std::filesystem::path& target, std::string_view content, mode_t mode);
Result<void> fsync_directory(const std::filesystem::path& dir);
// mkdir with exactly `mode` (umask does not widen or narrow it), then fsync of the parent.
Result<void> make_directory_durably(const std::filesystem::path& dir, mode_t mode);
// No fsync: a deletion that a crash undoes leaves an orphan, which open() cleans up.
Result<void> remove_file(const std::filesystem::path& file);

// Reads a whole file; `mode` receives its permission bits.
Result<std::string> read_file(const std::filesystem::path& file, mode_t* mode = nullptr);

std::string errno_text(int error);

}  // namespace dkr::keystore
