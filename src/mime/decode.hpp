// Transfer decodings (base64, quoted-printable) and charset helpers of the MIME walk. Private to
// the mime module and its tests.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace relaygate::mime::detail {

struct Decoded {
    std::string bytes;
    bool malformed = false;  // characters outside the alphabet, bad padding, broken escapes
    bool truncated = false;  // stopped at the byte budget
};

// Base64 (RFC 2045 6.8): whitespace ignored, other foreign characters skipped and reported,
// a final incomplete group decoded as far as its bits go.
Decoded decode_base64(std::string_view encoded, std::size_t max_bytes);

// Quoted-printable (RFC 2045 6.7): soft line breaks removed, =XX decoded (either case), a
// broken escape kept literally and reported.
Decoded decode_quoted_printable(std::string_view encoded, std::size_t max_bytes);

// Percent-decoding of RFC 2231 extended values; a broken escape is kept literally.
std::string percent_decode(std::string_view text);

bool is_valid_utf8(std::string_view text);

// Whether iconv can convert from this charset.
bool charset_known(std::string_view charset);

}  // namespace relaygate::mime::detail
