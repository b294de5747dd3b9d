#pragma once
// Error messages of the CLI repeat what they were given (a domain, a selector, a file's contents).
// Control characters in there could move the cursor, recolour or retitle the operator's terminal,
// or fake further lines of output: they are printed escaped.
#include <string>
#include <string_view>

namespace dkr::app {

// Bytes below 0x20 (other than none) and 0x7f as "\xNN"; a backslash stays as it is. UTF-8 passes
// unchanged, except the C1 controls U+0080..U+009F (which some terminals act on) as "\u0080".
std::string terminal_safe(std::string_view text);

}  // namespace dkr::app
