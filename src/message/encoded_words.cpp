// encoded_words — RFC 2047 encoded-word decoding and charset conversion to UTF-8 over iconv.

#include "relaygate/message.hpp"

#include <cerrno>
#include <iconv.h>

#include <utility>

namespace relaygate {
namespace {

// Longer names are no charset anyone registered; refusing them keeps iconv_open() calls cheap.
constexpr std::size_t kMaxCharsetNameBytes = 40;
// iconv descriptors kept open per thread; mail uses a handful of charsets.
constexpr std::size_t kMaxCachedConverters = 8;

constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

bool is_charset_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.' || c == ':' || c == '+' || c == '*' || c == '(' ||
           c == ')';
}

// Length of the valid UTF-8 sequence starting at text[i], or 0 when it is not valid
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
std::size_t utf8_sequence_length(std::string_view text, std::size_t i)
{
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    unsigned char lead = byte(i);
    if (lead < 0x80)
        return 1;
    std::size_t length = 0;
    unsigned char min_second = 0x80;
    unsigned char max_second = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        min_second = lead == 0xE0 ? 0xA0 : 0x80;
        max_second = lead == 0xED ? 0x9F : 0xBF;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        min_second = lead == 0xF0 ? 0x90 : 0x80;
        max_second = lead == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    if (i + length > text.size())
        return 0;
    if (byte(i + 1) < min_second || byte(i + 1) > max_second)
        return 0;
    for (std::size_t k = 2; k < length; ++k) {
        if (byte(i + k) < 0x80 || byte(i + k) > 0xBF)
            return 0;
    }
    return length;
}

bool is_valid_utf8(std::string_view text)
{
    for (std::size_t i = 0; i < text.size();) {
        std::size_t length = utf8_sequence_length(text, i);
        if (length == 0)
            return false;
        i += length;
    }
    return true;
}

// Keeps valid UTF-8 and replaces each invalid byte with U+FFFD.
std::string repair_utf8(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        std::size_t length = utf8_sequence_length(text, i);
        if (length == 0) {
            out += kReplacementCharacter;
            ++i;
            continue;
        }
        out.append(text.substr(i, length));
        i += length;
    }
    return out;
}

// ISO-8859-1 maps each byte to the code point of the same value.
std::string latin1_to_utf8(std::string_view text)
{
    std::string out;
    out.reserve(text.size() * 2);
    for (char c : text) {
        auto byte = static_cast<unsigned char>(c);
        if (byte < 0x80) {
            out += c;
        } else {
            out += static_cast<char>(0xC0 | (byte >> 6));
            out += static_cast<char>(0x80 | (byte & 0x3F));
        }
    }
    return out;
}

// Lowercases, drops an RFC 2231 language suffix ("utf-8*en") and maps labels whose bytes in
// real mail belong to a larger charset (as the WHATWG Encoding standard does).
std::string normalize_charset(std::string_view charset)
{
    std::string name = ascii_lower(charset);
    std::size_t star = name.find('*');
    if (star != std::string::npos)
        name.resize(star);
    if (name == "iso-8859-1" || name == "iso_8859-1" || name == "latin1" || name == "l1" ||
        name == "us-ascii" || name == "ascii")
        return "cp1252";
    if (name == "gb2312" || name == "gbk" || name == "x-gbk" || name == "cp936")
        return "gb18030";
    if (name == "ks_c_5601-1987" || name == "euc-kr")
        return "cp949";
    if (name == "x-sjis" || name == "shift-jis")
        return "shift_jis";
    if (name == "utf8")
        return "utf-8";
    return name;
}

// One iconv descriptor per charset and thread: iconv_t carries conversion state and must not
// be shared between threads, and iconv_open() is too slow to call per header.
class ConverterCache {
public:
    ~ConverterCache()
    {
        for (auto& entry : converters_)
            iconv_close(entry.second);
    }

    // The descriptor converting charset to UTF-8, reset to its initial state; nullptr when
    // iconv does not know the charset.
    iconv_t get(const std::string& charset)
    {
        for (auto& entry : converters_) {
            if (entry.first == charset) {
                iconv(entry.second, nullptr, nullptr, nullptr, nullptr);
                return entry.second;
            }
        }

        iconv_t converter = iconv_open("UTF-8", charset.c_str());
        if (converter == reinterpret_cast<iconv_t>(-1))
            return nullptr;
        if (converters_.size() == kMaxCachedConverters) {
            iconv_close(converters_.front().second);
            converters_.erase(converters_.begin());
        }
        converters_.emplace_back(charset, converter);
        return converter;
    }

private:
    std::vector<std::pair<std::string, iconv_t>> converters_;
};

// Runs iconv over the whole text, putting U+FFFD in place of each byte it cannot convert.
std::string convert_with_iconv(iconv_t converter, std::string_view text)
{
    std::string out;
    out.resize(text.size() * 2 + 16);
    char* in = const_cast<char*>(text.data());
    std::size_t in_left = text.size();
    std::size_t used = 0;

    while (true) {
        char* out_ptr = out.data() + used;
        std::size_t out_left = out.size() - used;
        std::size_t result = in_left == 0
                                 ? iconv(converter, nullptr, nullptr, &out_ptr, &out_left)
                                 : iconv(converter, &in, &in_left, &out_ptr, &out_left);
        used = out.size() - out_left;
        if (result != static_cast<std::size_t>(-1)) {
            if (in_left == 0)
                break;
            continue;
        }
        if (errno == E2BIG) {
            out.resize(out.size() * 2);
            continue;
        }
        // EILSEQ, or EINVAL for a sequence cut off at the end: replace one byte, go on.
        out.resize(used);
        out += kReplacementCharacter;
        used = out.size();
        out.resize(used + in_left * 2 + 16);
        ++in;
        --in_left;
        iconv(converter, nullptr, nullptr, nullptr, nullptr);
    }
    out.resize(used);
    return out;
}

// RFC 2047 "Q": "_" is a space, "=XX" a byte; a malformed "=" is kept as it is.
std::string decode_q(std::string_view text)
{
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'A' && c <= 'F')
            return c - 'A' + 10;
        if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
        return -1;
    };
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '_') {
            out += ' ';
        } else if (text[i] == '=' && i + 2 < text.size() && hex(text[i + 1]) >= 0 &&
                   hex(text[i + 2]) >= 0) {
            out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

// RFC 2047 "B" (base64); missing padding is tolerated, any other stray byte fails the word.
bool decode_b(std::string_view text, std::string& out)
{
    auto value = [](char c) -> int {
        if (c >= 'A' && c <= 'Z')
            return c - 'A';
        if (c >= 'a' && c <= 'z')
            return c - 'a' + 26;
        if (c >= '0' && c <= '9')
            return c - '0' + 52;
        if (c == '+')
            return 62;
        if (c == '/')
            return 63;
        return -1;
    };
    while (!text.empty() && text.back() == '=')
        text.remove_suffix(1);

    unsigned int bits = 0;
    int bit_count = 0;
    for (char c : text) {
        int v = value(c);
        if (v < 0)
            return false;
        bits = (bits << 6) | static_cast<unsigned int>(v);
        bit_count += 6;
        if (bit_count >= 8) {
            bit_count -= 8;
            out += static_cast<char>((bits >> bit_count) & 0xFF);
        }
    }
    return true;
}

struct EncodedWord {
    std::string charset;
    std::string bytes;
    std::size_t end = 0;  // offset just past "?="
};

// Reads "=?charset?E?text?=" at value[start]; false (nothing consumed) when it is not one.
bool read_encoded_word(std::string_view value, std::size_t start, EncodedWord& word)
{
    std::size_t pos = start + 2;
    std::size_t charset_begin = pos;
    while (pos < value.size() && value[pos] != '?' && is_charset_char(value[pos]) &&
           pos - charset_begin <= kMaxCharsetNameBytes)
        ++pos;
    if (pos == charset_begin || pos >= value.size() || value[pos] != '?')
        return false;
    word.charset.assign(value.substr(charset_begin, pos - charset_begin));

    if (pos + 2 >= value.size() || value[pos + 2] != '?')
        return false;
    char encoding = value[pos + 1];
    pos += 3;

    std::size_t text_begin = pos;
    while (pos < value.size() && value[pos] != '?' && value[pos] != ' ' && value[pos] != '\t' &&
           value[pos] != '\r' && value[pos] != '\n')
        ++pos;
    if (pos + 1 >= value.size() || value[pos] != '?' || value[pos + 1] != '=')
        return false;
    std::string_view text = value.substr(text_begin, pos - text_begin);
    word.end = pos + 2;

    word.bytes.clear();
    if (encoding == 'Q' || encoding == 'q') {
        word.bytes = decode_q(text);
        return true;
    }
    if (encoding == 'B' || encoding == 'b')
        return decode_b(text, word.bytes);
    return false;
}

bool is_linear_whitespace(std::string_view text)
{
    for (char c : text) {
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
            return false;
    }
    return true;
}

}  // namespace

// Unknown charsets: bytes that are valid UTF-8 are kept (labels like "unknown-8bit" mostly
// carry UTF-8 or ASCII today), anything else is read as ISO-8859-1. Latin-1 loses no byte and
// keeps the text inspectable for look-alike checks, where U+FFFD would hide it.
std::string to_utf8(std::string_view text, std::string_view charset)
{
    std::string name = normalize_charset(charset);
    if (name == "utf-8")
        return is_valid_utf8(text) ? std::string(text) : repair_utf8(text);

    bool name_is_sane = !name.empty() && name.size() <= kMaxCharsetNameBytes;
    for (char c : name)
        name_is_sane = name_is_sane && is_charset_char(c) && c != '*';
    thread_local ConverterCache cache;
    iconv_t converter = name_is_sane ? cache.get(name) : nullptr;
    if (converter)
        return convert_with_iconv(converter, text);

    return is_valid_utf8(text) ? std::string(text) : latin1_to_utf8(text);
}

// Decodes every encoded-word; whitespace between two adjacent encoded-words is dropped
// (RFC 2047 section 6.2) and adjacent words of one charset are converted together, so that a
// multi-byte character split across two words survives.
std::string decode_encoded_words(std::string_view value)
{
    std::string out;
    std::string pending_bytes;
    std::string pending_charset;
    bool pending = false;
    auto flush = [&] {
        if (pending)
            out += to_utf8(pending_bytes, pending_charset);
        pending_bytes.clear();
        pending = false;
    };

    std::size_t literal_begin = 0;
    std::size_t search = 0;
    EncodedWord word;
    while (true) {
        std::size_t start = value.find("=?", search);
        if (start == std::string_view::npos)
            break;
        if (!read_encoded_word(value, start, word)) {
            search = start + 1;
            continue;
        }

        std::string_view between = value.substr(literal_begin, start - literal_begin);
        if (!(pending && is_linear_whitespace(between))) {
            flush();
            out += between;
        }
        if (pending && ascii_lower(word.charset) != ascii_lower(pending_charset))
            flush();
        pending_bytes += word.bytes;
        pending_charset = word.charset;
        pending = true;
        literal_begin = search = word.end;
    }
    flush();
    out += value.substr(literal_begin);
    return out;
}

}  // namespace relaygate
