// How many terminal columns text takes, for tables that stay aligned whatever the values hold:
// CJK ideographs and most emoji take two columns, combining marks, zero-width characters and
// variation selectors none, everything else one. A small wcwidth (Unicode 15 East Asian Width
// "W"/"F" ranges and the emoji presentation blocks; nonspacing marks) that does not depend on the
// C library's locale, so output is the same under LANG=C and in tests.
//
//   DisplayWidth("東京") == 4;  DisplayWidth("e\u0301") == 1;  DisplayWidth("👍") == 2
//
// An emoji ZWJ sequence (👨‍👩‍👧) counts as the sum of its parts (terminals disagree on
// it). Bytes that are not UTF-8 count one column each (they are shown escaped, see
// engine/result_writer). Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <string_view>

namespace parley::engine {

// Columns of one code point: 0, 1 or 2. Control characters count 0 (callers escape them).
int CodePointWidth(char32_t code_point);

// Columns of UTF-8 text.
size_t DisplayWidth(std::string_view text);

// Decodes the UTF-8 code point at text[*offset] and advances *offset past it. Returns false (and
// advances one byte) at a byte that does not start a valid, shortest-form sequence.
bool NextCodePoint(std::string_view text, size_t* offset, char32_t* code_point);

}  // namespace parley::engine
