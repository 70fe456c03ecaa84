// The words of a text, HTML reduced to its visible text, and the hashing of tokens into
// feature buckets.
#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstring>

#include "relaygate/model.hpp"

namespace relaygate::model {

namespace {

// What each byte is to the word scanner: a word byte (letters, digits, bytes >= 0x80 of UTF-8,
// '$'), a joiner that may join two parts of one word ("e-mail", "12.99", "bob@example.com"),
// or neither. A table: the scan looks at every byte of every text part.
enum ByteClass : std::uint8_t { other_byte, word_byte, joiner_byte };

constexpr std::array<ByteClass, 256> byte_classes = [] {
    std::array<ByteClass, 256> classes{};
    for (int c = 0; c < 256; ++c) {
        bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c >= 0x80 || c == '$';
        bool joiner = c == '.' || c == '-' || c == '\'' || c == '@' || c == '_';
        classes[static_cast<std::size_t>(c)] = word ? word_byte : joiner ? joiner_byte
                                                                         : other_byte;
    }
    return classes;
}();

ByteClass byte_class(char c)
{
    return byte_classes[static_cast<unsigned char>(c)];
}

char ascii_lower_char(char c)
{
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Calls on_word with each word of text as written (any length; the caller applies the
// length rules). A word runs over word bytes and over joiners followed by a word byte.
template <typename OnWord>
void for_each_word(std::string_view text, OnWord&& on_word)
{
    std::size_t i = 0;
    while (i < text.size()) {
        if (byte_class(text[i]) != word_byte) {
            ++i;
            continue;
        }
        std::size_t end = i;
        while (end < text.size()) {
            ByteClass kind = byte_class(text[end]);
            if (kind == word_byte) {
                ++end;
            } else if (kind == joiner_byte && end + 1 < text.size() &&
                       byte_class(text[end + 1]) == word_byte) {
                end += 2;
            } else {
                break;
            }
        }
        on_word(text.substr(i, end - i));
        i = end;
    }
}

constexpr std::string_view long_word = "<long>";

}  // namespace

std::vector<std::string> tokenize(std::string_view text)
{
    std::vector<std::string> words;
    for_each_word(text, [&](std::string_view raw) {
        if (raw.size() < 2) {
            return;
        }
        if (raw.size() > max_word_bytes) {
            words.emplace_back(long_word);
            return;
        }
        std::string word(raw);
        std::transform(word.begin(), word.end(), word.begin(), ascii_lower_char);
        words.push_back(std::move(word));
    });
    return words;
}

namespace {

bool starts_with_ci(std::string_view text, std::size_t at, std::string_view prefix)
{
    if (text.size() - at < prefix.size()) {
        return false;
    }
    for (std::size_t k = 0; k < prefix.size(); ++k) {
        if (ascii_lower_char(text[at + k]) != prefix[k]) {
            return false;
        }
    }
    return true;
}

// Position just after the first case-insensitive occurrence of needle at or after from, or
// the end of text.
std::size_t skip_past_ci(std::string_view text, std::size_t from, std::string_view needle)
{
    for (std::size_t at = from; at < text.size(); ++at) {
        if (starts_with_ci(text, at, needle)) {
            return at + needle.size();
        }
    }
    return text.size();
}

struct Entity {
    std::string_view name;
    std::string_view text;
};
constexpr std::array<Entity, 8> common_entities{{
    {"amp;", "&"}, {"lt;", "<"}, {"gt;", ">"}, {"quot;", "\""}, {"apos;", "'"},
    {"nbsp;", " "}, {"copy;", "(c)"}, {"reg;", "(r)"},
}};

// Appends the UTF-8 encoding of a code point (invalid ones become a space).
void append_utf8(std::uint32_t cp, std::string& out)
{
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        out += ' ';
    } else if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// Decodes the entity starting at html[at] == '&' into out; returns the bytes consumed.
std::size_t decode_entity(std::string_view html, std::size_t at, std::string& out)
{
    constexpr std::size_t max_numeric_digits = 8;
    if (at + 1 < html.size() && html[at + 1] == '#') {
        bool hex = at + 2 < html.size() && (html[at + 2] == 'x' || html[at + 2] == 'X');
        std::size_t k = at + (hex ? 3 : 2);
        std::uint32_t cp = 0;
        std::size_t digits = 0;
        for (; k < html.size(); ++k, ++digits) {
            char c = ascii_lower_char(html[k]);
            int value = (c >= '0' && c <= '9') ? c - '0'
                        : (hex && c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
            if (value < 0) {
                break;
            }
            // Too many digits is no character: the whole run becomes one invalid point.
            cp = digits < max_numeric_digits
                     ? cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(value)
                     : 0;
        }
        if (digits == 0) {
            out += '&';
            return 1;
        }
        append_utf8(cp, out);
        return k - at + (k < html.size() && html[k] == ';' ? 1 : 0);
    }
    for (const auto& entity : common_entities) {
        if (starts_with_ci(html, at + 1, entity.name)) {
            out += entity.text;
            return 1 + entity.name.size();
        }
    }
    out += '&';
    return 1;
}

// The value of attribute name (lowercase) inside one tag's text, or empty.
std::string_view attribute_value(std::string_view tag, std::string_view name)
{
    for (std::size_t at = 0; at + name.size() < tag.size(); ++at) {
        bool boundary = at == 0 || tag[at - 1] == ' ' || tag[at - 1] == '\t' ||
                        tag[at - 1] == '\n' || tag[at - 1] == '\r';
        if (!boundary || !starts_with_ci(tag, at, name)) {
            continue;
        }
        std::size_t k = at + name.size();
        while (k < tag.size() && (tag[k] == ' ' || tag[k] == '\t')) {
            ++k;
        }
        if (k >= tag.size() || tag[k] != '=') {
            continue;
        }
        ++k;
        while (k < tag.size() && (tag[k] == ' ' || tag[k] == '\t')) {
            ++k;
        }
        if (k < tag.size() && (tag[k] == '"' || tag[k] == '\'')) {
            std::size_t close = tag.find(tag[k], k + 1);
            return tag.substr(k + 1, (close == std::string_view::npos ? tag.size() : close) -
                                         k - 1);
        }
        std::size_t end = k;
        while (end < tag.size() && tag[end] != ' ' && tag[end] != '>' && tag[end] != '\t') {
            ++end;
        }
        return tag.substr(k, end - k);
    }
    return {};
}

// Records one tag (the text between '<' and '>') and returns where its content ends for
// elements whose content is not text (script, style), else npos.
std::size_t handle_tag(std::string_view html, std::string_view tag, std::size_t after,
                       HtmlText& out)
{
    constexpr std::size_t max_tag_name = 16;
    std::size_t k = (!tag.empty() && tag[0] == '/') ? 1 : 0;
    std::size_t name_end = k;
    while (name_end < tag.size() && name_end - k < max_tag_name &&
           std::isalnum(static_cast<unsigned char>(tag[name_end]))) {
        ++name_end;
    }
    std::string name(tag.substr(k, name_end - k));
    std::transform(name.begin(), name.end(), name.begin(), ascii_lower_char);
    if (name.empty()) {
        return std::string_view::npos;
    }
    if (k == 0) {
        out.tags.push_back(name);
        for (std::string_view attribute : {"href", "src"}) {
            std::string_view link = attribute_value(tag, attribute);
            if (!link.empty()) {
                out.links.emplace_back(link);
            }
        }
    }
    // Block-level tags separate words the way a renderer would.
    out.text += ' ';
    if (k == 0 && (name == "script" || name == "style")) {
        return skip_past_ci(html, after, name == "script" ? "</script" : "</style");
    }
    return std::string_view::npos;
}

}  // namespace

HtmlText strip_html(std::string_view html)
{
    HtmlText out;
    out.text.reserve(html.size() / 2);
    std::size_t i = 0;
    while (i < html.size()) {
        char c = html[i];
        if (c == '&') {
            i += decode_entity(html, i, out.text);
            continue;
        }
        if (c != '<') {
            // The run of plain text up to the next entity or tag, appended at once.
            std::size_t run_end = i + 1;
            while (run_end < html.size() && html[run_end] != '&' && html[run_end] != '<') {
                ++run_end;
            }
            out.text.append(html.substr(i, run_end - i));
            i = run_end;
            continue;
        }
        if (html.substr(i, 4) == "<!--") {
            i = skip_past_ci(html, i + 4, "-->");
            continue;
        }
        std::size_t close = html.find('>', i + 1);
        if (close == std::string_view::npos) {
            break;  // an unclosed tag at the end shows nothing
        }
        std::string_view tag = html.substr(i + 1, close - i - 1);
        std::size_t content_end = handle_tag(html, tag, close + 1, out);
        i = content_end == std::string_view::npos ? close + 1 : content_end;
    }
    return out;
}

namespace {

constexpr std::uint64_t fnv_offset = 14695981039346656037ull;
constexpr std::uint64_t fnv_prime = 1099511628211ull;

std::uint64_t fnv1a(std::string_view bytes, std::uint64_t hash)
{
    for (char c : bytes) {
        hash ^= static_cast<unsigned char>(c);
        hash *= fnv_prime;
    }
    return hash;
}

// The splitmix64 finaliser: FNV-1a alone leaves its low and high bits poorly mixed.
std::uint64_t mix(std::uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

// The FNV-1a state after a namespace and its separator: every token of that namespace
// continues from it.
std::uint64_t namespace_state(std::string_view name_space)
{
    return fnv1a(std::string_view("\x1f", 1), fnv1a(name_space, fnv_offset));
}

}  // namespace

std::uint64_t hash_token(std::string_view name_space, std::string_view token)
{
    return mix(fnv1a(token, namespace_state(name_space)));
}

bool in_test_split(std::string_view file_name)
{
    return fnv1a(file_name, fnv_offset) % 5 == 0;
}

FeatureBuilder::FeatureBuilder(const FeatureConfig& config) : config_(config) {}

FeatureBuilder::Block FeatureBuilder::block_of(std::string_view name_space)
{
    return (name_space == "b" || name_space == "t" || name_space == "u") ? Block::text
                                                                         : Block::header;
}

void FeatureBuilder::add_hash(std::uint64_t hash, Block block)
{
    std::uint64_t bucket = hash >> (64 - config_.hash_bits);
    occurrences_.push_back((std::uint64_t{block == Block::header} << 32) | bucket);
}

void FeatureBuilder::add(std::string_view name_space, std::string_view token)
{
    add_hash(hash_token(name_space, token), block_of(name_space));
}

// The same words and hashes as hash_token over tokenize(text), without a string per word:
// each word is lowercased as it is hashed.
void FeatureBuilder::add_text(std::string_view name_space, std::string_view text,
                              bool with_pairs)
{
    Block block = block_of(name_space);
    std::uint64_t prefix = namespace_state(name_space);
    std::uint64_t long_hash = mix(fnv1a(long_word, prefix));
    bool pairs = config_.bigrams && with_pairs;
    bool first = true;
    std::uint64_t previous = 0;
    for_each_word(text, [&](std::string_view raw) {
        if (raw.size() < 2) {
            return;
        }
        std::uint64_t hash = long_hash;
        if (raw.size() <= max_word_bytes) {
            hash = prefix;
            for (char c : raw) {
                hash ^= static_cast<unsigned char>(ascii_lower_char(c));
                hash *= fnv_prime;
            }
            hash = mix(hash);
        }
        add_hash(hash, block);
        // A bigram's hash combines its words' hashes: no string is built per pair.
        if (pairs && !first) {
            add_hash(mix(previous * 31 + hash + 0x9e3779b97f4a7c15ull), block);
        }
        previous = hash;
        first = false;
    });
}

namespace {

// Sorts occurrence keys (the block bit above a bucket of at most max_hash_bits bits): a
// comparison sort for the few hundred of a usual message, two passes of a 12-bit radix sort
// (linear, but with two 4096-entry count tables to clear and sum) for long ones.
void sort_keys(std::vector<std::uint32_t>& keys)
{
    constexpr std::size_t small = 4096;
    if (keys.size() <= small) {
        std::sort(keys.begin(), keys.end());
        return;
    }
    constexpr unsigned digit_bits = 12;
    static_assert(2 * digit_bits >= max_hash_bits + 1, "two digits cover a key");
    constexpr std::size_t digits = std::size_t{1} << digit_bits;
    std::vector<std::uint32_t> buffer(keys.size());
    std::vector<std::uint32_t> counts(digits);
    for (unsigned shift : {0u, digit_bits}) {
        std::fill(counts.begin(), counts.end(), 0);
        for (std::uint32_t key : keys) {
            ++counts[(key >> shift) & (digits - 1)];
        }
        std::uint32_t position = 0;
        for (std::uint32_t& count : counts) {
            std::uint32_t here = count;
            count = position;
            position += here;
        }
        for (std::uint32_t key : keys) {
            buffer[counts[(key >> shift) & (digits - 1)]++] = key;
        }
        keys.swap(buffer);
    }
}

// log(1 + count), from a table for the small counts nearly every feature has.
double count_weight(std::size_t count)
{
    constexpr std::size_t tabled = 64;
    static const std::array<double, tabled> table = [] {
        std::array<double, tabled> weights{};
        for (std::size_t k = 0; k < tabled; ++k) {
            weights[k] = std::log1p(static_cast<double>(k));
        }
        return weights;
    }();
    return count < tabled ? table[count] : std::log1p(static_cast<double>(count));
}

}  // namespace

FeatureVector FeatureBuilder::finish() const
{
    // Occurrences sorted by block, then bucket: each run is one feature of one block.
    std::uint32_t header_bit = std::uint32_t{1} << config_.hash_bits;
    std::vector<std::uint32_t> sorted;
    sorted.reserve(occurrences_.size());
    for (std::uint64_t occurrence : occurrences_) {
        std::uint32_t bucket = static_cast<std::uint32_t>(occurrence);
        sorted.push_back((occurrence >> 32) != 0 ? (bucket | header_bit) : bucket);
    }
    sort_keys(sorted);

    struct Item {
        std::uint32_t bucket;
        double value;
    };
    std::vector<Item> items[2];
    double squares[2] = {0, 0};
    for (std::size_t i = 0; i < sorted.size();) {
        std::size_t run = i;
        while (run < sorted.size() && sorted[run] == sorted[i]) {
            ++run;
        }
        int block = (sorted[i] & header_bit) != 0 ? 1 : 0;
        double value = count_weight(run - i);
        items[block].push_back({sorted[i] & (header_bit - 1), value});
        squares[block] += value * value;
        i = run;
    }

    // Each block to length 1, the header block then weighed.
    double scale[2] = {0, 0};
    for (int block = 0; block < 2; ++block) {
        if (squares[block] > 0) {
            scale[block] = (block == 1 ? header_block_weight : 1.0) / std::sqrt(squares[block]);
        }
    }

    // The two blocks, each in bucket order, merged; a bucket used by both blocks adds up.
    FeatureVector features;
    features.buckets.reserve(items[0].size() + items[1].size());
    features.values.reserve(items[0].size() + items[1].size());
    std::size_t next[2] = {0, 0};
    while (next[0] < items[0].size() || next[1] < items[1].size()) {
        int block = next[1] == items[1].size() ? 0
                    : next[0] == items[0].size() ? 1
                    : items[1][next[1]].bucket < items[0][next[0]].bucket ? 1 : 0;
        const Item& item = items[block][next[block]++];
        auto value = static_cast<float>(item.value * scale[block]);
        if (!features.buckets.empty() && features.buckets.back() == item.bucket) {
            features.values.back() += value;
        } else {
            features.buckets.push_back(item.bucket);
            features.values.push_back(value);
        }
    }
    return features;
}

}  // namespace relaygate::model
