// The header's structure: the fields RFC 5322 requires once, the From address count, line
// length, UTF-8, and the dates of Date and the Received chain.
#include "checks/header_checks.hpp"
#include "checks/connection_checks.hpp"

namespace relaygate::checks::header {
namespace {

// RFC 5322 2.1.1: a line is at most 998 octets without its CRLF.
constexpr std::size_t max_line_octets = 998;
// Sender fields longer than this are read only this far for UTF-8 and decoding.
constexpr std::size_t max_field_octets_decoded = 64 * 1024;
// More hops than this is a loop or a header flood (RFC 5321 6.3 suggests 100 for loops;
// real paths are a handful).
constexpr std::size_t max_received_hops = 50;

// Of the fields RFC 5322 3.6 wants exactly once: the missing and duplicated ones.
void check_once(const Policy& policy, const Message& message, std::string_view name,
                std::string_view id_prefix, std::vector<Finding>& findings)
{
    std::size_t count = message.all(name).size();
    std::string prefix(id_prefix);
    if (count == 0)
        findings.push_back(make_finding(policy, prefix + "_missing",
                                        "no " + std::string(name) + " field"));
    else if (count > 1)
        findings.push_back(make_finding(policy, prefix + "_duplicate",
                                        std::to_string(count) + " " + std::string(name) +
                                            " fields"));
}

void check_from_addresses(const Policy& policy, const Message& message,
                          std::vector<Finding>& findings)
{
    if (!message.first("From"))
        return;
    AddressList from = message.from();
    if (from.mailboxes.empty()) {
        findings.push_back(make_finding(policy, "from_no_address",
                                        "the From field holds no address" +
                                            (from.problem.empty() ? "" : ": " + from.problem)));
        return;
    }
    if (from.mailboxes.size() > 1) {
        findings.push_back(make_finding(policy, "from_multiple_addresses",
                                        "the From field holds " +
                                            std::to_string(from.mailboxes.size()) +
                                            " addresses"));
    }
    if (!from.valid)
        findings.push_back(make_finding(policy, "from_malformed",
                                        "the From field does not parse cleanly: " +
                                            from.problem));
}

void check_line_length(const Policy& policy, const Message& message,
                       std::vector<Finding>& findings)
{
    for (const auto& field : message.header()) {
        std::string_view raw = field.raw;
        std::size_t start = 0;
        while (start < raw.size()) {
            std::size_t end = raw.find('\n', start);
            if (end == std::string_view::npos)
                end = raw.size();
            std::size_t length = end - start;
            if (length > 0 && raw[end - 1] == '\r')
                --length;
            if (length > max_line_octets) {
                findings.push_back(make_finding(policy, "header_line_too_long",
                                                "a line of the " + shown(field.name) +
                                                    " field has " + std::to_string(length) +
                                                    " octets (at most 998)"));
                return;
            }
            start = end + 1;
        }
    }
}

// The decoder replaces invalid sequences inside encoded words with U+FFFD, so a replacement
// character that the raw text did not hold marks an encoded word that was not valid.
bool decodes_to_invalid_utf8(std::string_view value)
{
    constexpr std::string_view replacement = "\xEF\xBF\xBD";
    std::string decoded = decode_encoded_words(value);
    return !is_valid_utf8(decoded) || (decoded.find(replacement) != std::string::npos &&
                                       value.find(replacement) == std::string_view::npos);
}

// Fields whose text people read as the sender or subject: invalid UTF-8 there, raw or inside
// encoded words, is either a broken mailer or an attempt to confuse a filter.
void check_utf8(const Policy& policy, const Message& message, std::vector<Finding>& findings)
{
    for (std::string_view name : {"From", "Sender", "Reply-To", "To", "Cc", "Subject"}) {
        for (const HeaderField* field : message.all(name)) {
            std::string_view value = field->value;
            value = value.substr(0, max_field_octets_decoded);
            if (is_valid_utf8(value) && !decodes_to_invalid_utf8(value))
                continue;
            findings.push_back(make_finding(policy, "header_invalid_utf8",
                                            "the " + std::string(name) +
                                                " field holds invalid UTF-8"));
            return;
        }
    }
}

void check_date(const Policy& policy, const Message& message, std::int64_t now,
                std::vector<Finding>& findings)
{
    const HeaderField* date = message.first("Date");
    if (!date)
        return;
    auto when = parse_date(date->value);
    if (!when) {
        findings.push_back(make_finding(policy, "date_invalid",
                                        "Date " + shown(date->value) +
                                            " is not an RFC 5322 date"));
        return;
    }
    if (*when > now + policy.header.clock_skew_seconds)
        findings.push_back(make_finding(policy, "date_future",
                                        "Date " + shown(date->value) + " is " +
                                            std::to_string((*when - now) / 60) +
                                            " minutes in the future"));
}

// The date of a Received field follows its last semicolon.
std::optional<std::int64_t> received_date(const HeaderField& field)
{
    auto semicolon = field.value.rfind(';');
    if (semicolon == std::string::npos)
        return std::nullopt;
    return parse_date(std::string_view(field.value).substr(semicolon + 1));
}

}  // namespace

Finding make_finding(const Policy& policy, std::string_view id, std::string detail)
{
    return scored_finding(policy, "header", id, std::move(detail));
}

void check_structure(const Policy& policy, const Message& message, std::int64_t now,
                     std::vector<Finding>& findings)
{
    check_once(policy, message, "From", "from", findings);
    check_once(policy, message, "Date", "date", findings);
    check_once(policy, message, "Message-ID", "message_id", findings);
    check_from_addresses(policy, message, findings);
    check_date(policy, message, now, findings);
    check_line_length(policy, message, findings);
    check_utf8(policy, message, findings);
}

// Received fields are written top-down, newest first, so going down the dates must not
// grow (beyond clock skew); and none may lie in the future.
void check_received_chain(const Policy& policy, const Message& message, std::int64_t now,
                          std::vector<Finding>& findings)
{
    auto received = message.all("Received");
    if (received.size() > max_received_hops)
        findings.push_back(make_finding(policy, "received_too_many",
                                        std::to_string(received.size()) +
                                            " Received fields (more than " +
                                            std::to_string(max_received_hops) + ")"));

    const std::int64_t skew = policy.header.clock_skew_seconds;
    bool future_found = false, disorder_found = false;
    std::optional<std::int64_t> newer;
    for (std::size_t hop = 0; hop < received.size() && hop < max_received_hops; ++hop) {
        auto when = received_date(*received[hop]);
        if (!when)
            continue;
        if (!future_found && *when > now + skew) {
            future_found = true;
            findings.push_back(make_finding(policy, "received_date_future",
                                            "Received field " + std::to_string(hop + 1) +
                                                " is dated " +
                                                std::to_string((*when - now) / 60) +
                                                " minutes in the future"));
        }
        if (!disorder_found && newer && *when > *newer + skew) {
            disorder_found = true;
            findings.push_back(make_finding(policy, "received_out_of_order",
                                            "Received field " + std::to_string(hop + 1) +
                                                " is dated " +
                                                std::to_string((*when - *newer) / 60) +
                                                " minutes after the one above it"));
        }
        newer = when;
    }
}

}  // namespace relaygate::checks::header
