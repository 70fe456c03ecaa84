// A small scanner over valid JSON with comments that records where every member and element
// starts, keyed by the same paths the policy validator prints.
#include "policy/json_locations.hpp"

#include <cstdint>

namespace relaygate::policy_detail {
namespace {

// Policy files are written by administrators, but a nesting this deep is a mistake, and the
// scanner recurses once per level.
constexpr std::size_t max_nesting = 64;

class Scanner {
public:
    Scanner(std::string_view text, JsonLocations& out) : text_(text), out_(out) {}

    bool value(const std::string& path, std::size_t depth);

private:
    bool object(const std::string& path, std::size_t depth);
    bool array(const std::string& path, std::size_t depth);
    bool string(std::string& decoded);
    void skip_space();
    void record(const std::string& path, std::size_t offset);
    char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

    std::string_view text_;
    JsonLocations& out_;
    std::size_t pos_ = 0;
};

void append_utf8(std::string& out, std::uint32_t code)
{
    if (code < 0x80) {
        out += static_cast<char>(code);
    } else if (code < 0x800) {
        out += static_cast<char>(0xC0 | (code >> 6));
        out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
        out += static_cast<char>(0xE0 | (code >> 12));
        out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (code >> 18));
        out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code & 0x3F));
    }
}

std::uint32_t hex4(std::string_view text)
{
    std::uint32_t code = 0;
    for (char c : text) {
        code <<= 4;
        if (c >= '0' && c <= '9')
            code |= static_cast<std::uint32_t>(c - '0');
        else if (c >= 'a' && c <= 'f')
            code |= static_cast<std::uint32_t>(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            code |= static_cast<std::uint32_t>(c - 'A' + 10);
    }
    return code;
}

// Whitespace and both comment forms nlohmann's ignore_comments accepts.
void Scanner::skip_space()
{
    while (pos_ < text_.size()) {
        char c = text_[pos_];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            ++pos_;
        } else if (text_.substr(pos_, 2) == "//") {
            auto end = text_.find('\n', pos_);
            pos_ = end == std::string_view::npos ? text_.size() : end + 1;
        } else if (text_.substr(pos_, 2) == "/*") {
            auto end = text_.find("*/", pos_ + 2);
            pos_ = end == std::string_view::npos ? text_.size() : end + 2;
        } else {
            return;
        }
    }
}

void Scanner::record(const std::string& path, std::size_t offset)
{
    auto [it, inserted] = out_.offsets.emplace(path, offset);
    if (!inserted && out_.duplicate_path.empty()) {
        out_.duplicate_path = path;
        out_.duplicate_offset = offset;
    }
}

// A string literal, decoded as nlohmann decodes it so that key paths match.
bool Scanner::string(std::string& decoded)
{
    if (peek() != '"')
        return false;
    ++pos_;
    while (pos_ < text_.size() && text_[pos_] != '"') {
        char c = text_[pos_++];
        if (c != '\\') {
            decoded += c;
            continue;
        }
        char escape = peek();
        ++pos_;
        switch (escape) {
        case 'b': decoded += '\b'; break;
        case 'f': decoded += '\f'; break;
        case 'n': decoded += '\n'; break;
        case 'r': decoded += '\r'; break;
        case 't': decoded += '\t'; break;
        case 'u': {
            std::uint32_t code = hex4(text_.substr(pos_, 4));
            pos_ += 4;
            if (code >= 0xD800 && code < 0xDC00 && text_.substr(pos_, 2) == "\\u") {
                std::uint32_t low = hex4(text_.substr(pos_ + 2, 4));
                pos_ += 6;
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
            }
            append_utf8(decoded, code);
            break;
        }
        default: decoded += escape; break;
        }
    }
    if (pos_ >= text_.size())
        return false;
    ++pos_;
    return true;
}

bool Scanner::object(const std::string& path, std::size_t depth)
{
    ++pos_;
    skip_space();
    if (peek() == '}') {
        ++pos_;
        return true;
    }
    while (pos_ < text_.size()) {
        skip_space();
        std::size_t key_offset = pos_;
        std::string key;
        if (!string(key))
            return false;
        std::string child = member_path(path, key);
        record(child, key_offset);
        skip_space();
        if (peek() != ':')
            return false;
        ++pos_;
        if (!value(child, depth + 1))
            return false;
        skip_space();
        if (peek() == '}') {
            ++pos_;
            return true;
        }
        if (peek() != ',')
            return false;
        ++pos_;
    }
    return false;
}

bool Scanner::array(const std::string& path, std::size_t depth)
{
    ++pos_;
    skip_space();
    if (peek() == ']') {
        ++pos_;
        return true;
    }
    for (std::size_t index = 0; pos_ < text_.size(); ++index) {
        skip_space();
        std::string child = element_path(path, index);
        record(child, pos_);
        if (!value(child, depth + 1))
            return false;
        skip_space();
        if (peek() == ']') {
            ++pos_;
            return true;
        }
        if (peek() != ',')
            return false;
        ++pos_;
    }
    return false;
}

bool Scanner::value(const std::string& path, std::size_t depth)
{
    if (depth > max_nesting)
        return false;
    skip_space();
    char c = peek();
    if (c == '{')
        return object(path, depth);
    if (c == '[')
        return array(path, depth);
    if (c == '"') {
        std::string ignored;
        return string(ignored);
    }

    // A number or literal runs to the next delimiter.
    std::size_t start = pos_;
    while (pos_ < text_.size()) {
        char d = text_[pos_];
        if (d == ',' || d == '}' || d == ']' || d == ' ' || d == '\t' || d == '\n' ||
            d == '\r' || d == '/')
            break;
        ++pos_;
    }
    return pos_ > start;
}

}  // namespace

TextPosition position_of(std::string_view text, std::size_t offset)
{
    TextPosition position;
    if (offset > text.size())
        offset = text.size();
    for (std::size_t i = 0; i < offset; ++i) {
        auto byte = static_cast<unsigned char>(text[i]);
        if (byte == '\n') {
            ++position.line;
            position.column = 1;
        } else if ((byte & 0xC0) != 0x80) {
            ++position.column;  // UTF-8 continuation bytes are part of one character
        }
    }
    return position;
}

std::string member_path(const std::string& parent, std::string_view key)
{
    if (parent.empty())
        return std::string(key);
    return parent + "." + std::string(key);
}

std::string element_path(const std::string& parent, std::size_t index)
{
    return parent + "[" + std::to_string(index) + "]";
}

JsonLocations index_json(std::string_view text)
{
    JsonLocations locations;
    Scanner scanner(text, locations);
    scanner.value("", 0);
    return locations;
}

}  // namespace relaygate::policy_detail
