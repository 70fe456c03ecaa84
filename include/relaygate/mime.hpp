// mime — the MIME walk of a message (over mimetic): every leaf part decoded (base64,
// quoted-printable), its charset converted to UTF-8, RFC 2231/2047 file names decoded, under
// hard limits on depth, number of parts and decoded bytes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "relaygate/message.hpp"

namespace relaygate::mime {

struct Limits {
    std::size_t max_depth = 20;
    std::size_t max_parts = 500;
    std::size_t max_decoded_bytes = 64u << 20;
};

struct Part {
    std::string content_type;       // lowercase "type/subtype"; "text/plain" when absent
    std::string charset;            // lowercase, as declared
    std::string transfer_encoding;  // lowercase
    std::string disposition;        // lowercase "inline" | "attachment" | ""
    std::string filename;           // decoded UTF-8 (filename*, filename, name)
    std::size_t depth = 0;          // nesting depth, 0 for the top level
    std::string decoded;            // the body after transfer decoding
    std::string text;               // UTF-8 text for text/* parts, else empty
    bool is_attachment = false;     // disposition attachment, or a file name on a non-text part
};

struct WalkResult {
    std::vector<Part> parts;          // leaf parts in document order
    std::vector<std::string> limits;  // limits hit, one line each ("MIME depth exceeds 20")
    std::vector<std::string> defects; // malformed base64, unknown charset, missing boundary ...
};

WalkResult walk(const Message& message, const Limits& limits = {});

// The same walk over the bytes of a whole message (header and body), for callers that hold no
// parsed Message (attached messages, tests).
WalkResult walk(std::string_view raw_message, const Limits& limits = {});

}  // namespace relaygate::mime
