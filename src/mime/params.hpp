// Content-Type and Content-Disposition values with their parameters, RFC 2045 syntax with the
// RFC 2231 extensions (charset'language'%XX values, name*0*= continuations). Private to the
// mime module and its tests.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace relaygate::mime::detail {

struct HeaderValue {
    std::string value;                         // lowercase, before the first ';'
    std::map<std::string, std::string> params; // lowercase names; RFC 2231 values decoded to
                                               // UTF-8, plain values as written
};

// Never throws; problems (unterminated quotes, gaps in continuations) are appended to defects.
HeaderValue parse_header_value(std::string_view field_value, std::vector<std::string>& defects);

}  // namespace relaygate::mime::detail
