// The RFC 6376 section 3.2 tag-list ("a=rsa-sha256; d=example.com; ..."), read strictly so
// that a malformed DKIM-Signature field or key record is a permerror before libopendkim sees
// it (libopendkim lets a repeated tag silently overwrite the first one).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace relaygate::auth::detail {

struct TagList {
    std::vector<std::pair<std::string, std::string>> tags;  // name, value (outer FWS removed)
    std::string problem;                                    // empty when the list is valid

    bool valid() const { return problem.empty(); }
    // The value of a tag (names are case-sensitive, RFC 6376 3.2), or nullopt.
    std::optional<std::string_view> get(std::string_view name) const;
};

TagList parse_tag_list(std::string_view text);

// The value with every whitespace character removed (b=, bh=, p= may be folded).
std::string strip_whitespace(std::string_view value);

}  // namespace relaygate::auth::detail
