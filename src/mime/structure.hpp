// The MIME structure pass that runs before mimetic. mimetic recurses once per nesting level
// without a limit (SIGSEGV near 50,000 levels), drops every part after an inner multipart that
// is not closed, and copies long header values in 128-byte steps (quadratic time). This pass
// reads the structure the way mimetic's line parser does and writes the text mimetic gets:
// entities beyond the depth and part limits left out, unclosed inner multiparts closed,
// overlong header fields cut. Private to the mime module and its tests.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "relaygate/mime.hpp"

namespace relaygate::mime::detail {

// No header field handed to mimetic is longer than this (its value buffer grows by 128
// bytes per copy, so the cost is quadratic in the field length).
constexpr std::size_t kMaxHeaderFieldBytes = 8u << 10;
// All header blocks of all entities together; the rest of a header block beyond it is dropped.
constexpr std::size_t kMaxTotalHeaderBytes = 2u << 20;
// Whatever the policy says, mimetic never sees more Content-Type fields than this, which
// bounds its recursion even where this pass and mimetic disagree about the structure.
constexpr std::size_t kMaxContentTypeFields = 5000;

struct Prepared {
    std::string text;                  // what mimetic parses
    std::vector<std::string> limits;   // limits hit, one line each
    std::vector<std::string> defects;  // structural problems corrected
};

Prepared prepare_for_mimetic(std::string_view raw, const Limits& limits);

}  // namespace relaygate::mime::detail
