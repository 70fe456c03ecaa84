// Where each member and element of a JSON-with-comments text starts, by key path, so that
// policy errors can name a line and column (nlohmann/json 3.11 keeps no positions).
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

namespace relaygate::policy_detail {

struct TextPosition {
    std::size_t line = 1;
    std::size_t column = 1;
};

// Line and column (1-based, columns in characters) of a byte offset.
TextPosition position_of(std::string_view text, std::size_t offset);

// Key paths as errors print them: "thresholds.reject", "connection.dnsbl[0].zone".
std::string member_path(const std::string& parent, std::string_view key);
std::string element_path(const std::string& parent, std::size_t index);

struct JsonLocations {
    std::map<std::string, std::size_t> offsets;  // path → offset of the member's key or
                                                 // of the element
    std::string duplicate_path;                  // the first key written twice, if any
    std::size_t duplicate_offset = 0;
};

// Indexes a text that nlohmann::json already parsed (with comments ignored); on anything it
// cannot follow it stops and returns what it has, so a lookup then falls back to 1:1.
JsonLocations index_json(std::string_view text);

}  // namespace relaygate::policy_detail
