#include "relaygate/mime.hpp"

#include <mimetic/mimetic.h>

#include <algorithm>
#include <exception>
#include <iterator>
#include <utility>

#include "mime/decode.hpp"
#include "mime/params.hpp"
#include "mime/structure.hpp"

namespace relaygate::mime {

namespace {

// mimetic has two parsers: one for random-access iterators that finds boundaries anywhere in
// a line (a "--b" inside text splits the part), and a line-based one for the other
// categories that matches them at line starts only, as RFC 2046 says. This iterator over a
// string reports itself as a forward iterator so that mimetic picks the line-based parser.
class LineParserIterator {
public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = char;
    using difference_type = std::ptrdiff_t;
    using pointer = const char*;
    using reference = const char&;

    LineParserIterator() = default;
    explicit LineParserIterator(const char* position) : position_(position) {}

    reference operator*() const { return *position_; }
    LineParserIterator& operator++()
    {
        ++position_;
        return *this;
    }
    LineParserIterator operator++(int)
    {
        LineParserIterator before = *this;
        ++position_;
        return before;
    }
    bool operator==(const LineParserIterator& other) const = default;

private:
    const char* position_ = nullptr;
};

struct Entity {
    const mimetic::MimeEntity* entity;
    std::size_t depth;
};

// The first field of that name, or nullptr (mimetic field names compare without case).
const mimetic::Field* find_field(const mimetic::MimeEntity& entity, const char* name)
{
    for (const mimetic::Field& field : entity.header()) {
        if (field.name() == name) return &field;
    }
    return nullptr;
}

std::string field_value(const mimetic::MimeEntity& entity, const char* name)
{
    const mimetic::Field* field = find_field(entity, name);
    return field ? field->value() : std::string();
}

bool starts_with(std::string_view text, std::string_view prefix)
{
    return text.substr(0, prefix.size()) == prefix;
}

std::string trim_lower(std::string_view text)
{
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return ascii_lower(text);
}

class Walker {
public:
    Walker(const Limits& limits, WalkResult& result) : limits_(limits), result_(result) {}

    // Visits the tree in document order with an explicit stack (no recursion of our own).
    void run(const mimetic::MimeEntity& root)
    {
        std::vector<Entity> stack{{&root, 0}};
        while (!stack.empty()) {
            Entity current = stack.back();
            stack.pop_back();
            // TODO: preambles and epilogues are not walked; clients do not show them, but a
            // filter that reads them could see text hidden there.
            const auto& children = current.entity->body().parts();
            if (children.empty()) {
                add_leaf(*current.entity, current.depth);
                continue;
            }
            for (auto child = children.rbegin(); child != children.rend(); ++child) {
                stack.push_back({*child, current.depth + 1});
            }
        }
    }

private:
    void add_leaf(const mimetic::MimeEntity& entity, std::size_t depth);
    void read_type(const mimetic::MimeEntity& entity, Part& part);
    void read_disposition(const mimetic::MimeEntity& entity, Part& part);
    void decode_body(const mimetic::MimeEntity& entity, Part& part);
    void convert_text(Part& part);
    void defect(const std::string& text);

    const Limits& limits_;
    WalkResult& result_;
    std::size_t decoded_bytes_ = 0;
    bool decoded_limit_reported_ = false;
};

void Walker::defect(const std::string& text)
{
    result_.defects.push_back("part " + std::to_string(result_.parts.size() + 1) + ": " + text);
}

void Walker::add_leaf(const mimetic::MimeEntity& entity, std::size_t depth)
{
    if (result_.parts.size() >= limits_.max_parts) return;
    Part part;
    part.depth = depth;
    read_type(entity, part);
    if (starts_with(part.content_type, "multipart/")) return;  // a multipart without parts
    read_disposition(entity, part);
    decode_body(entity, part);
    convert_text(part);
    part.is_attachment = part.disposition == "attachment" ||
                         (!part.filename.empty() && !starts_with(part.content_type, "text/"));
    result_.parts.push_back(std::move(part));
}

void Walker::read_type(const mimetic::MimeEntity& entity, Part& part)
{
    std::vector<std::string> problems;
    const mimetic::Field* field = find_field(entity, "Content-Type");
    detail::HeaderValue type;
    if (field) type = detail::parse_header_value(field->value(), problems);
    for (const auto& problem : problems) defect("Content-Type " + problem);

    // TODO: parts of multipart/digest default to message/rfc822 (RFC 2046 5.1.5); mimetic
    // does not know that, so an untyped digest part is read as text/plain, not walked into.
    if (type.value.find('/') == std::string::npos) {
        if (field) defect("Content-Type \"" + type.value.substr(0, 100) + "\" has no "
                                "subtype; taken as text/plain");
        type.value = "text/plain";
    }
    part.content_type = type.value;
    part.charset = trim_lower(type.params["charset"]);
    part.filename = decode_encoded_words(type.params["name"]);
    part.transfer_encoding = trim_lower(field_value(entity, "Content-Transfer-Encoding"));
}

// Disposition and file name; an unknown disposition counts as attachment (RFC 2183 2.8).
void Walker::read_disposition(const mimetic::MimeEntity& entity, Part& part)
{
    const mimetic::Field* field = find_field(entity, "Content-Disposition");
    if (!field) return;
    std::vector<std::string> problems;
    detail::HeaderValue disposition = detail::parse_header_value(field->value(), problems);
    for (const auto& problem : problems) defect("Content-Disposition " + problem);

    part.disposition = disposition.value;
    if (!part.disposition.empty() && part.disposition != "inline") {
        part.disposition = "attachment";
    }
    auto filename = disposition.params.find("filename");
    if (filename != disposition.params.end() && !filename->second.empty()) {
        part.filename = decode_encoded_words(filename->second);
    }
}

// Transfer decoding under the budget of decoded bytes for the whole message.
void Walker::decode_body(const mimetic::MimeEntity& entity, Part& part)
{
    const std::string& body = entity.body();
    std::size_t budget = limits_.max_decoded_bytes - decoded_bytes_;
    detail::Decoded decoded;
    if (part.transfer_encoding == "base64") {
        decoded = detail::decode_base64(body, budget);
        if (decoded.malformed) defect("malformed base64, decoded as far as possible");
    } else if (part.transfer_encoding == "quoted-printable") {
        decoded = detail::decode_quoted_printable(body, budget);
        if (decoded.malformed) defect("malformed quoted-printable escapes kept as written");
    } else {
        static const std::vector<std::string> kIdentity{"", "7bit", "8bit", "binary"};
        if (std::find(kIdentity.begin(), kIdentity.end(), part.transfer_encoding) ==
            kIdentity.end()) {
            defect("unknown transfer encoding \"" + part.transfer_encoding.substr(0, 100) +
                             "\" taken as 8bit");
        }
        decoded.bytes = body.substr(0, budget);
        decoded.truncated = body.size() > budget;
    }

    decoded_bytes_ += decoded.bytes.size();
    part.decoded = std::move(decoded.bytes);
    if (decoded.truncated && !decoded_limit_reported_) {
        result_.limits.push_back("decoded MIME parts exceed " +
                                 std::to_string(limits_.max_decoded_bytes) + " bytes");
        decoded_limit_reported_ = true;
    }
}

// Text parts to UTF-8. Undeclared or unknown charsets: UTF-8 when the bytes are valid UTF-8,
// else windows-1252, the most common undeclared 8-bit charset in mail.
void Walker::convert_text(Part& part)
{
    if (!starts_with(part.content_type, "text/")) return;
    static constexpr std::string_view kFallbackCharset = "windows-1252";
    const std::string& charset = part.charset;
    bool undeclared = charset.empty() || charset == "us-ascii" || charset == "ascii";
    if (!undeclared && !detail::charset_known(charset)) {
        defect("unknown charset \"" + charset.substr(0, 100) + "\"; read as UTF-8 or " +
                         std::string(kFallbackCharset));
        undeclared = true;
    }
    if (!undeclared) {
        part.text = to_utf8(part.decoded, charset);
        return;
    }
    part.text = detail::is_valid_utf8(part.decoded) ? part.decoded
                                                    : to_utf8(part.decoded, kFallbackCharset);
}

}  // namespace

WalkResult walk(std::string_view raw_message, const Limits& limits)
{
    WalkResult result;
    detail::Prepared prepared = detail::prepare_for_mimetic(raw_message, limits);
    result.limits = std::move(prepared.limits);
    result.defects = std::move(prepared.defects);

    try {
        mimetic::MimeEntity root;
        const char* begin = prepared.text.data();
        root.load(LineParserIterator(begin), LineParserIterator(begin + prepared.text.size()));
        Walker(limits, result).run(root);
    } catch (const std::exception& error) {
        result.defects.push_back(std::string("MIME parser failed: ") + error.what());
    }
    return result;
}

WalkResult walk(const Message& message, const Limits& limits)
{
    return walk(std::string_view(message.raw()), limits);
}

}  // namespace relaygate::mime
