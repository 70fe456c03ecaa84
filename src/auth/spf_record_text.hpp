// Text-level helpers for SPF records (RFC 7208 4.5, 4.6.1), used by the SPF adapter to
// correct records before libspf2 compiles them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace relaygate::auth::spf_text {

// True when txt is an SPF record: "v=spf1" (any case) alone or followed by a space.
bool is_spf_record(std::string_view txt);

// The terms after the version, split on runs of spaces.
std::vector<std::string_view> terms(std::string_view record);

// RFC 7208 6.1: "redirect=" is ignored when the record has an "all" mechanism. Returns the
// record without its redirect modifiers in that case, else the record unchanged.
std::string without_redirect_beside_all(std::string_view record);

}  // namespace relaygate::auth::spf_text
