// The cache file format, shared by the cached resolver and `relaygate dns cache show|prune`.
//
// An append-only log of text lines: a header "relaygate-dns-cache 1", then one line per stored
// answer, fields separated by tabs:
//   expires  ttl  type  outcome  name  zone  record...  checksum
// expires is seconds since the Unix epoch; zone is empty when unknown and "." for the root;
// octets below 0x20, from 0x7f, and the backslash are written as \DDD, so that a line holds
// no tab or newline of its own; checksum is the FNV-1a 64 hash of everything before it, in hex.
// The newest line for a name and type wins. A line that does not parse or whose checksum is
// wrong (a torn write after a crash, a damaged disk block) is skipped; the rest stays usable.
#pragma once

#include "relaygate/dns.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace relaygate::dns::detail {

constexpr int kCacheFormatVersion = 1;
constexpr std::string_view kCacheHeaderPrefix = "relaygate-dns-cache ";

// Limits on what a cache line may hold: beyond them the line is damaged or hostile.
constexpr std::size_t kMaxCacheLineLength = 1 << 20;
constexpr std::size_t kMaxCacheRecords = 4096;

enum class HeaderCheck { ok, newer, foreign };

struct HeaderResult {
    HeaderCheck check = HeaderCheck::foreign;
    long version = 0;
};

std::string cache_header_line();  // with its newline
HeaderResult check_cache_header(std::string_view first_line);  // without the newline

// The line for an entry, with its newline.
std::string format_cache_line(const CacheEntry& entry);

// The entry a line (without its newline) holds; nullopt when it is damaged.
std::optional<CacheEntry> parse_cache_line(std::string_view line);

// "name<TAB>type" for maps keyed by question.
std::string cache_key(std::string_view canonical_name, RecordType type);

}  // namespace relaygate::dns::detail
