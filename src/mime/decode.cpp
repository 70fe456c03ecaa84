#include "mime/decode.hpp"

#include <iconv.h>

#include <algorithm>
#include <array>
#include <cstdint>

namespace relaygate::mime::detail {

namespace {

constexpr int kNotBase64 = -1;
constexpr int kBase64Padding = -2;

// The value of one base64 character, or kNotBase64 / kBase64Padding.
int base64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    if (c == '=') return kBase64Padding;
    return kNotBase64;
}

// The value of one hexadecimal digit, or -1.
int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

bool is_whitespace(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

}  // namespace

// Decodes base64 in groups of four characters; padding ends a group early, and decoding
// resumes after it, because concatenated base64 blobs are common in the wild.
Decoded decode_base64(std::string_view encoded, std::size_t max_bytes)
{
    Decoded out;
    out.bytes.reserve(std::min(encoded.size() / 4 * 3 + 3, max_bytes));
    std::uint32_t bits = 0;
    int count = 0;

    // Emits the 1 or 2 bytes a final group of 2 or 3 characters carries (1 carries none).
    auto flush_partial_group = [&] {
        if (count == 1) out.malformed = true;
        if (count >= 2 && out.bytes.size() + 2 <= max_bytes) {
            bits <<= 6 * (4 - count);
            out.bytes.push_back(static_cast<char>((bits >> 16) & 0xff));
            if (count == 3) out.bytes.push_back(static_cast<char>((bits >> 8) & 0xff));
        }
        bits = 0;
        count = 0;
    };

    for (unsigned char c : encoded) {
        int value = base64_value(c);
        if (value == kNotBase64) {
            if (!is_whitespace(c)) out.malformed = true;
            continue;
        }
        if (value == kBase64Padding) {
            // Padding ends a group; data after it is a second blob (or garbage).
            flush_partial_group();
            continue;
        }
        bits = (bits << 6) | static_cast<std::uint32_t>(value);
        if (++count < 4) continue;

        if (out.bytes.size() + 3 > max_bytes) {
            out.truncated = true;
            return out;
        }
        out.bytes.push_back(static_cast<char>((bits >> 16) & 0xff));
        out.bytes.push_back(static_cast<char>((bits >> 8) & 0xff));
        out.bytes.push_back(static_cast<char>(bits & 0xff));
        bits = 0;
        count = 0;
    }

    // A final group without its padding.
    if (count != 0) out.malformed = true;
    flush_partial_group();
    return out;
}

// Decodes quoted-printable line by line.
Decoded decode_quoted_printable(std::string_view encoded, std::size_t max_bytes)
{
    Decoded out;
    out.bytes.reserve(std::min(encoded.size(), max_bytes));

    for (std::size_t i = 0; i < encoded.size(); ++i) {
        if (out.bytes.size() >= max_bytes) {
            out.truncated = true;
            return out;
        }
        char c = encoded[i];
        if (c != '=') {
            out.bytes.push_back(c);
            continue;
        }

        // Soft line break: "=" then optional transport whitespace then a line end.
        std::size_t j = i + 1;
        while (j < encoded.size() && (encoded[j] == ' ' || encoded[j] == '\t')) ++j;
        if (j == encoded.size()) {
            i = j;
            continue;
        }
        if (encoded[j] == '\r' || encoded[j] == '\n') {
            if (encoded[j] == '\r' && j + 1 < encoded.size() && encoded[j + 1] == '\n') ++j;
            i = j;
            continue;
        }

        int high = i + 1 < encoded.size() ? hex_value(encoded[i + 1]) : -1;
        int low = i + 2 < encoded.size() ? hex_value(encoded[i + 2]) : -1;
        if (high < 0 || low < 0) {
            out.malformed = true;
            out.bytes.push_back(c);
            continue;
        }
        out.bytes.push_back(static_cast<char>(high * 16 + low));
        i += 2;
    }
    return out;
}

std::string percent_decode(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        int high = text[i] == '%' && i + 2 < text.size() ? hex_value(text[i + 1]) : -1;
        int low = high >= 0 ? hex_value(text[i + 2]) : -1;
        if (high < 0 || low < 0) {
            out.push_back(text[i]);
            continue;
        }
        out.push_back(static_cast<char>(high * 16 + low));
        i += 2;
    }
    return out;
}

// Checks UTF-8 structure: lead bytes, continuation bytes, no overlongs or surrogates.
bool is_valid_utf8(std::string_view text)
{
    std::size_t i = 0;
    while (i < text.size()) {
        auto c = static_cast<unsigned char>(text[i]);
        std::size_t length = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3
                           : (c >> 3) == 0x1e ? 4 : 0;
        if (length == 0 || i + length > text.size()) return false;
        std::uint32_t code = length == 1 ? c : c & (0x7f >> length);
        for (std::size_t k = 1; k < length; ++k) {
            auto next = static_cast<unsigned char>(text[i + k]);
            if ((next & 0xc0) != 0x80) return false;
            code = (code << 6) | (next & 0x3f);
        }
        static constexpr std::array<std::uint32_t, 5> kMinimum{0, 0, 0x80, 0x800, 0x10000};
        if (code < kMinimum[length] || code > 0x10ffff) return false;
        if (code >= 0xd800 && code <= 0xdfff) return false;
        i += length;
    }
    return true;
}

bool charset_known(std::string_view charset)
{
    std::string name(charset);
    iconv_t handle = iconv_open("UTF-8", name.c_str());
    if (handle == reinterpret_cast<iconv_t>(-1)) return false;
    iconv_close(handle);
    return true;
}

}  // namespace relaygate::mime::detail
