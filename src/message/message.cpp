// message — splitting one RFC 5322 message into its header fields and body.
//
// Library choice: this module does not use mimetic. mimetic re-serialises headers (tabs become
// spaces, folding is lost), cannot give the exact bytes DKIM signs, decodes neither RFC 2047 nor
// RFC 2231 and misparses group syntax (DEPENDENCIES.md, section 7). What we need here is small:
// a byte-exact split of the header into fields, RFC 5322 unfolding, an address-list parser
// (address.cpp) and an encoded-word decoder over iconv (encoded_words.cpp). The mime module wraps
// mimetic for the body walk.

#include "relaygate/message.hpp"

#include <cstring>

namespace relaygate {
namespace {

// A hostile message could yield one defect per line; a verdict needs only the first few.
constexpr std::size_t kMaxDefects = 100;

constexpr std::string_view kMboxFromPrefix = "From ";

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// True when every byte is printable US-ASCII other than the colon (RFC 5322 ftext).
bool is_field_name(std::string_view name)
{
    if (name.empty())
        return false;
    for (char c : name) {
        auto byte = static_cast<unsigned char>(c);
        if (byte < 33 || byte > 126 || c == ':')
            return false;
    }
    return true;
}

bool iequals(std::string_view a, std::string_view b)
{
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] + 32) : a[i];
        char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] + 32) : b[i];
        if (x != y)
            return false;
    }
    return true;
}

// RFC 5322 section 2.2.3: unfolding removes each line break that is followed by whitespace;
// the whitespace itself stays. Outer whitespace of the value is then trimmed.
std::string unfold_value(std::string_view text)
{
    std::string value;
    value.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\r' && i + 2 < text.size() && text[i + 1] == '\n' && is_wsp(text[i + 2])) {
            ++i;
            continue;
        }
        if (text[i] == '\n' && i + 1 < text.size() && is_wsp(text[i + 1]))
            continue;
        value += text[i];
    }

    std::size_t begin = 0;
    while (begin < value.size() && (is_wsp(value[begin]) || value[begin] == '\r' ||
                                    value[begin] == '\n'))
        ++begin;
    std::size_t end = value.size();
    while (end > begin && (is_wsp(value[end - 1]) || value[end - 1] == '\r' ||
                           value[end - 1] == '\n'))
        --end;
    return value.substr(begin, end - begin);
}

// One physical line of the header: [begin, content_end) without its line end, next = the
// offset of the following line.
struct Line {
    std::size_t begin = 0;
    std::size_t content_end = 0;
    std::size_t next = 0;
    bool has_line_end = false;
};

Line line_at(const std::string& raw, std::size_t begin)
{
    Line line;
    line.begin = begin;
    const void* found = std::memchr(raw.data() + begin, '\n', raw.size() - begin);
    std::size_t end = found ? static_cast<const char*>(found) - raw.data() : raw.size();
    line.has_line_end = found != nullptr;
    line.next = found ? end + 1 : end;
    line.content_end = end;
    if (line.has_line_end && end > begin && raw[end - 1] == '\r')
        --line.content_end;
    return line;
}

// Collects defects up to kMaxDefects, then says once that more were left out.
class DefectList {
public:
    explicit DefectList(std::vector<std::string>& out) : out_(out) {}

    void add(std::string text)
    {
        if (out_.size() < kMaxDefects)
            out_.push_back(std::move(text));
        else if (out_.size() == kMaxDefects)
            out_.push_back("more defects not listed");
    }

private:
    std::vector<std::string>& out_;
};

}  // namespace

std::string Mailbox::address() const { return local_part + "@" + domain; }

// Splits raw into header fields and body; never throws on content, records defects instead.
Message Message::parse(std::string raw)
{
    Message message;
    message.raw_ = std::move(raw);
    const std::string& text = message.raw_;
    DefectList defects(message.defects_);

    if (text.empty()) {
        defects.add("message is empty");
        return message;
    }

    std::size_t pos = 0;
    std::size_t line_number = 1;
    if (std::string_view(text).substr(0, kMboxFromPrefix.size()) == kMboxFromPrefix) {
        // A lone .eml saved from an mbox keeps its From_ line; it is no header field.
        defects.add("line 1 is an mbox From_ line, not a header field; skipped");
        pos = line_at(text, 0).next;
        ++line_number;
    }

    std::size_t field_begin = 0;
    std::size_t field_end = 0;
    std::size_t name_length = 0;
    bool field_open = false;
    auto close_field = [&] {
        if (!field_open)
            return;
        std::string_view whole(text.data() + field_begin, field_end - field_begin);
        std::string_view name = whole.substr(0, name_length);
        while (!name.empty() && is_wsp(name.back()))
            name.remove_suffix(1);
        message.header_.push_back(HeaderField{std::string(name), std::string(whole),
                                              unfold_value(whole.substr(name_length + 1))});
        field_open = false;
    };

    bool separator_found = false;
    for (; pos < text.size(); ++line_number) {
        Line line = line_at(text, pos);
        pos = line.next;
        if (line.content_end == line.begin && line.has_line_end) {
            close_field();
            separator_found = true;
            break;
        }

        std::string_view content(text.data() + line.begin, line.content_end - line.begin);
        if (content.find('\0') != std::string_view::npos)
            defects.add("header line " + std::to_string(line_number) + " contains a NUL byte");
        if (is_wsp(content.front())) {
            if (field_open)
                field_end = line.content_end;
            else
                defects.add("header line " + std::to_string(line_number) +
                            " is a continuation with no field before it");
            continue;
        }

        close_field();
        std::size_t colon = content.find(':');
        if (colon == std::string_view::npos) {
            defects.add("header line " + std::to_string(line_number) + " has no colon");
            continue;
        }
        std::string_view name = content.substr(0, colon);
        while (!name.empty() && is_wsp(name.back()))
            name.remove_suffix(1);
        if (!is_field_name(name)) {
            defects.add("header line " + std::to_string(line_number) +
                        " has no valid field name before its colon");
            continue;
        }
        field_open = true;
        field_begin = line.begin;
        field_end = line.content_end;
        name_length = colon;
    }
    close_field();

    message.body_offset_ = separator_found ? pos : text.size();
    if (!separator_found)
        defects.add("header is not followed by an empty line");
    if (message.body().find('\0') != std::string_view::npos)
        defects.add("body contains NUL bytes");
    return message;
}

std::string_view Message::body() const
{
    return std::string_view(raw_).substr(body_offset_);
}

const HeaderField* Message::first(std::string_view name) const
{
    for (const HeaderField& field : header_) {
        if (iequals(field.name, name))
            return &field;
    }
    return nullptr;
}

std::vector<const HeaderField*> Message::all(std::string_view name) const
{
    std::vector<const HeaderField*> fields;
    for (const HeaderField& field : header_) {
        if (iequals(field.name, name))
            fields.push_back(&field);
    }
    return fields;
}

// Parses the first From field; RFC 5322 allows several mailboxes there only with a Sender
// field and DMARC cannot pick one, so anything but exactly one mailbox is marked invalid.
AddressList Message::from() const
{
    const HeaderField* field = first("From");
    if (!field) {
        AddressList missing;
        missing.valid = false;
        missing.problem = "no From field";
        return missing;
    }

    AddressList list = parse_address_list(field->value);
    if (list.mailboxes.size() > 1 && list.valid) {
        list.valid = false;
        list.problem = "From has " + std::to_string(list.mailboxes.size()) + " addresses";
    }
    return list;
}

std::string Message::subject() const
{
    const HeaderField* field = first("Subject");
    return field ? decode_encoded_words(field->value) : std::string();
}

std::string Message::message_id() const
{
    const HeaderField* field = first("Message-ID");
    return field ? field->value : std::string();
}

std::string ascii_lower(std::string_view text)
{
    std::string lower(text);
    for (char& c : lower) {
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c + ('a' - 'A'));
    }
    return lower;
}

// The first CR or LF at or after pos, npos if none: two memchr scans, where find_first_of
// with a set makes one memchr call per byte.
std::size_t find_line_end(std::string_view text, std::size_t pos)
{
    std::string_view rest = text.substr(pos);
    const void* lf = std::memchr(rest.data(), '\n', rest.size());
    std::size_t limit = lf ? static_cast<std::size_t>(static_cast<const char*>(lf) - rest.data())
                           : rest.size();
    const void* cr = std::memchr(rest.data(), '\r', limit);
    if (cr)
        return pos + static_cast<std::size_t>(static_cast<const char*>(cr) - rest.data());
    return lf ? pos + limit : std::string_view::npos;
}

// Copies the runs between line ends whole: this runs over every signed message's body, and a
// byte at a time it cost as much as the DKIM hashing.
std::string to_crlf(std::string_view text)
{
    std::string out;
    out.reserve(text.size() + text.size() / 32);
    std::size_t i = 0;
    while (i < text.size()) {
        std::size_t end = find_line_end(text, i);
        if (end == std::string_view::npos) {
            out.append(text.substr(i));
            break;
        }
        out.append(text.substr(i, end - i));
        out += "\r\n";
        i = end + 1;
        if (text[end] == '\r' && i < text.size() && text[i] == '\n')
            ++i;
    }
    return out;
}

}  // namespace relaygate
