// Reading and writing the lines of the cache file (format in cache_file.hpp).
#include "dns/cache_file.hpp"

#include "dns/names.hpp"

#include <charconv>
#include <cstdio>
#include <vector>

namespace relaygate::dns::detail {
namespace {

constexpr char kSeparator = '\t';
constexpr std::size_t kFixedFields = 6;  // expires ttl type outcome name zone

std::uint64_t fnv1a64(std::string_view data)
{
    std::uint64_t hash = 14695981039346656037ull;
    for (unsigned char c : data) {
        hash ^= c;
        hash *= 1099511628211ull;
    }
    return hash;
}

std::string hex64(std::uint64_t value)
{
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
    return text;
}

bool needs_escape(unsigned char c)
{
    return c < 0x20 || c >= 0x7f || c == '\\';
}

void append_escaped(std::string& out, std::string_view text)
{
    for (unsigned char c : text) {
        if (!needs_escape(c)) {
            out += static_cast<char>(c);
            continue;
        }
        char escape[5];
        std::snprintf(escape, sizeof escape, "\\%03u", c);
        out += escape;
    }
}

std::optional<std::string> unescape(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\\') {
            out += text[i];
            continue;
        }
        unsigned value = 0;
        if (i + 3 >= text.size()) {
            return std::nullopt;
        }
        auto [end, error] = std::from_chars(text.data() + i + 1, text.data() + i + 4, value);
        if (error != std::errc() || end != text.data() + i + 4 || value > 255) {
            return std::nullopt;
        }
        out += static_cast<char>(value);
        i += 3;
    }
    return out;
}

template <typename Number>
std::optional<Number> parse_number(std::string_view text)
{
    Number value{};
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

std::optional<Outcome> parse_outcome(std::string_view text)
{
    for (Outcome outcome : {Outcome::found, Outcome::nodata, Outcome::nxdomain}) {
        if (to_string(outcome) == text) {
            return outcome;
        }
    }
    return std::nullopt;  // temperror is never stored
}

std::vector<std::string_view> split_fields(std::string_view line)
{
    std::vector<std::string_view> fields;
    std::size_t start = 0;
    while (fields.size() <= kMaxCacheRecords + kFixedFields) {
        std::size_t tab = line.find(kSeparator, start);
        fields.push_back(line.substr(start, tab - start));
        if (tab == std::string_view::npos) {
            break;
        }
        start = tab + 1;
    }
    return fields;
}

}  // namespace

std::string cache_header_line()
{
    return std::string(kCacheHeaderPrefix) + std::to_string(kCacheFormatVersion) + "\n";
}

HeaderResult check_cache_header(std::string_view first_line)
{
    HeaderResult result;
    if (first_line.substr(0, kCacheHeaderPrefix.size()) != kCacheHeaderPrefix) {
        return result;
    }
    std::optional<long> version = parse_number<long>(first_line.substr(kCacheHeaderPrefix.size()));
    if (!version || *version < 1) {
        return result;
    }
    result.version = *version;
    result.check = *version > kCacheFormatVersion ? HeaderCheck::newer : HeaderCheck::ok;
    return result;
}

std::string cache_key(std::string_view canonical_name, RecordType type)
{
    std::string key(canonical_name);
    key += kSeparator;
    key += std::to_string(static_cast<unsigned>(type));
    return key;
}

std::string format_cache_line(const CacheEntry& entry)
{
    std::string line = std::to_string(entry.expires);
    line += kSeparator;
    line += std::to_string(entry.answer.ttl);
    line += kSeparator;
    line += std::to_string(static_cast<unsigned>(entry.type));
    line += kSeparator;
    line += to_string(entry.answer.outcome);
    line += kSeparator;
    append_escaped(line, entry.name);
    line += kSeparator;
    if (entry.answer.zone) {
        append_escaped(line, entry.answer.zone->empty() ? "." : *entry.answer.zone);
    }
    for (const std::string& record : entry.answer.records) {
        line += kSeparator;
        append_escaped(line, record);
    }
    std::string checksum = hex64(fnv1a64(line));
    line += kSeparator;
    line += checksum;
    line += '\n';
    return line;
}

std::optional<CacheEntry> parse_cache_line(std::string_view line)
{
    // The checksum first: a damaged line is rejected whatever else it holds.
    std::size_t last_tab = line.rfind(kSeparator);
    if (line.size() > kMaxCacheLineLength || last_tab == std::string_view::npos ||
        line.substr(last_tab + 1) != hex64(fnv1a64(line.substr(0, last_tab)))) {
        return std::nullopt;
    }
    std::vector<std::string_view> fields = split_fields(line.substr(0, last_tab));
    if (fields.size() < kFixedFields || fields.size() > kFixedFields + kMaxCacheRecords) {
        return std::nullopt;
    }

    CacheEntry entry;
    auto expires = parse_number<std::int64_t>(fields[0]);
    auto ttl = parse_number<std::uint32_t>(fields[1]);
    auto type_number = parse_number<std::uint16_t>(fields[2]);
    auto type = type_number ? parse_record_type(to_string(RecordType(*type_number)))
                            : std::nullopt;
    auto outcome = parse_outcome(fields[3]);
    auto name = unescape(fields[4]);
    auto zone = unescape(fields[5]);
    if (!expires || !ttl || !type || !outcome || !name || !zone ||
        canonical_name(*name) != *name) {
        return std::nullopt;
    }
    entry.expires = *expires;
    entry.type = *type;
    entry.name = std::move(*name);
    entry.answer.outcome = *outcome;
    entry.answer.ttl = *ttl;
    if (!zone->empty()) {
        entry.answer.zone = *zone == "." ? std::string() : std::move(*zone);
    }
    for (std::size_t i = kFixedFields; i < fields.size(); ++i) {
        auto record = unescape(fields[i]);
        if (!record) {
            return std::nullopt;
        }
        entry.answer.records.push_back(std::move(*record));
    }
    if ((entry.answer.outcome == Outcome::found) == entry.answer.records.empty()) {
        return std::nullopt;  // found needs records, a negative answer has none
    }
    return entry;
}

}  // namespace relaygate::dns::detail
