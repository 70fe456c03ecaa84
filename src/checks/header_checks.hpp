// The header layer's checks as free functions over a parsed message, so that each is tested
// without the auth adapters behind checks::Services; and the text tools they share (ICU
// folding and confusable skeletons, IDNA, the public suffix list, dates).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relaygate/message.hpp"
#include "relaygate/policy.hpp"
#include "relaygate/verdict.hpp"

namespace relaygate::checks::header {

// A finding of this layer, scored by the policy.
Finding make_finding(const Policy& policy, std::string_view id, std::string detail);

// --- text (header_text.cpp) ---

bool is_valid_utf8(std::string_view text);

// Text folded so that look-alike spellings compare equal: compatibility decomposition,
// diacritics dropped, case folded, confusables mapped to their Unicode skeleton (0 → O → o,
// 1 → l, rn ↔ m, Cyrillic а → a). Invalid UTF-8 is read as U+FFFD.
std::string fold_text(std::string_view utf8);

// fold_text, then every run of characters that are not letters or digits becomes one
// space, trimmed: "Martin,  ALICE" → "martin alice".
std::string fold_name(std::string_view utf8);

struct UnicodeDomain {
    std::string unicode;  // UTF-8, lowercase; the input when it could not be converted
    bool has_ace = false;  // some label was punycode (xn--)
    bool valid = true;     // false: invalid punycode or disallowed characters
};
// IDNA (UTS #46) ToUnicode of a domain as written in a header.
UnicodeDomain domain_to_unicode(std::string_view domain);

// Damerau-Levenshtein distance (optimal string alignment) between code point sequences;
// gives up and returns limit + 1 once the distance must exceed limit.
std::size_t edit_distance(std::u32string_view a, std::u32string_view b, std::size_t limit);
std::u32string to_code_points(std::string_view utf8);

// The registrable domain under the public suffix list ("mail.example.co.uk" →
// "example.co.uk"); the lowercased input for a public suffix itself or a bad name.
std::string organizational_domain(std::string_view domain);

// --- dates (header_dates.cpp) ---

// RFC 5322 date-time (obsolete forms included) → seconds since the epoch.
std::optional<std::int64_t> parse_date(std::string_view text);

// --- checks ---

// True when domain is one of organization.domains or a subdomain of one.
bool is_our_domain(const Policy& policy, std::string_view domain);

struct Lookalike {
    std::string protected_domain;
    std::string how;  // "confusable characters", "edit distance 1", ...
    bool idn = false;  // the resemblance needs non-ASCII characters
};
// Whether domain resembles one of organization.domains without being one.
std::optional<Lookalike> find_lookalike(const Policy& policy, std::string_view domain);

// from_* / date_* / message_id_* / header_line_too_long / header_invalid_utf8.
void check_structure(const Policy& policy, const Message& message, std::int64_t now,
                     std::vector<Finding>& findings);

// lookalike_domain / lookalike_idn / idn_invalid / display_name_impersonation /
// display_name_domain_spoof / reply_to_mismatch / reply_to_diversion / return_path_mismatch.
void check_senders(const Policy& policy, const Message& message, const Envelope& envelope,
                   std::vector<Finding>& findings);

// received_date_future / received_out_of_order / received_too_many.
void check_received_chain(const Policy& policy, const Message& message, std::int64_t now,
                          std::vector<Finding>& findings);

// Every check above, as the layer runs them; now is seconds since the epoch.
void run_header_checks(const Policy& policy, const Message& message, const Envelope& envelope,
                       std::int64_t now, std::vector<Finding>& findings);

}  // namespace relaygate::checks::header
