#pragma once
// The byte-level core of relaxed body canonicalization (RFC 6376 §3.4.4), without the line-end and
// streaming bookkeeping that BodyCanonicalizer adds around it.
//
// Each whitespace run becomes one SP and a run that ends a line disappears. Deciding that from the
// end of a run rather than its start makes every byte's fate depend only on the two bytes after it:
// a SP or HTAB is dropped when the next byte is SP or HTAB (the run goes on) or starts a CRLF (the
// line ends); a SP or HTAB that survives is written as SP; every other byte is copied. With no state
// carried from byte to byte, 32 bytes can be rewritten at once.
#include <cstddef>

namespace dkr::signer {

// Rewrites in[0, count) into out and returns the end of what was written (at most count bytes).
// Reads in[0, count + 2): the last two bytes are lookahead only, decided by a later call.
using RelaxedRewrite = char* (*)(const char* in, std::size_t count, char* out);

char* relaxed_rewrite_scalar(const char* in, std::size_t count, char* out);
#if defined(__x86_64__)
char* relaxed_rewrite_sse2(const char* in, std::size_t count, char* out);  // x86-64 baseline
char* relaxed_rewrite_avx2(const char* in, std::size_t count, char* out);  // only where avx2_available()
bool avx2_available();
#endif

// The fastest variant this CPU runs.
RelaxedRewrite best_relaxed_rewrite();

// Rewrites all of in[0, n) when the body ends after it: a final whitespace run is dropped (the
// canonical body gets its closing CRLF added), as is one before a final CRLF; a final CR is content.
char* relaxed_rewrite_body_end(const char* in, std::size_t n, char* out);

}  // namespace dkr::signer
