// message — one RFC 5322 message: its exact bytes (kept for DKIM and relaying), its header
// fields raw and unfolded, decoded display names and Subject, and address parsing.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace relaygate {

struct HeaderField {
    std::string name;   // as written, without the colon
    std::string raw;    // exact bytes of the whole field, folding kept, without its final line end
    std::string value;  // unfolded value after the colon, outer whitespace removed, raw octets
};

struct Mailbox {
    std::string display_name;  // RFC 2047 decoded, UTF-8, quotes removed
    std::string local_part;
    std::string domain;        // as written (lowercase it to compare)

    std::string address() const;  // local_part@domain
};

// An address list that could not be parsed cleanly still yields what could be read, with
// valid = false and the problem said in one line.
struct AddressList {
    std::vector<Mailbox> mailboxes;
    bool valid = true;
    std::string problem;
};

// RFC 5322 address-list (mailboxes and groups, comments, quoted strings, obsolete forms).
// Several mailboxes are valid here (To, Cc); no mailbox and no group is not.
AddressList parse_address_list(std::string_view value);

// RFC 2047 encoded-words → UTF-8; other bytes are kept, invalid UTF-8 is left as it is.
std::string decode_encoded_words(std::string_view value);

// Converts text in a named charset to UTF-8 (iconv); unknown charsets and invalid sequences
// are replaced, never thrown.
std::string to_utf8(std::string_view text, std::string_view charset);

// Lowercases ASCII.
std::string ascii_lower(std::string_view text);

// CRLF line ends throughout (bare LF and bare CR become CRLF).
std::string to_crlf(std::string_view text);

// The first CR or LF at or after pos; npos when there is none.
std::size_t find_line_end(std::string_view text, std::size_t pos);

// SMTP envelope of a message, from the command line or derived from Received fields.
struct Envelope {
    std::string client_ip;
    std::string helo;
    std::string mail_from;   // without angle brackets; empty is the null sender
    bool has_mail_from = false;
    std::vector<std::string> rcpt_to;
    std::string derived_from = "none";  // "options" | "received" | "none"
};

class Message {
public:
    // Never throws on content: defects are recorded and what can be read is kept.
    static Message parse(std::string raw);

    const std::string& raw() const { return raw_; }
    const std::vector<HeaderField>& header() const { return header_; }
    std::string_view body() const;
    std::size_t body_offset() const { return body_offset_; }

    // Case-insensitive; first() is the topmost field of that name, or nullptr.
    const HeaderField* first(std::string_view name) const;
    std::vector<const HeaderField*> all(std::string_view name) const;

    // Problems found while parsing, one line each ("header line 3 has no colon").
    const std::vector<std::string>& defects() const { return defects_; }

    // The first From field parsed (an absent From gives an empty, invalid list; several
    // mailboxes are all returned, with valid = false and problem "From has N addresses").
    AddressList from() const;
    std::string subject() const;     // decoded to UTF-8
    std::string message_id() const;  // as written, angle brackets kept

private:
    std::string raw_;
    std::vector<HeaderField> header_;
    std::size_t body_offset_ = 0;
    std::vector<std::string> defects_;
};

}  // namespace relaygate
