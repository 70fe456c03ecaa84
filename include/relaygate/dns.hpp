// dns — the one resolver interface behind every lookup of every layer, the C libraries'
// included, and the sources that stand behind it: live (ldns), a zone world (RFC 1035 master
// files taken as the whole DNS), a persistent cache, and a recorder for offline replay.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace relaygate::dns {

enum class RecordType : std::uint16_t {
    a = 1,
    ns = 2,
    cname = 5,
    soa = 6,
    ptr = 12,
    mx = 15,
    txt = 16,
    aaaa = 28,
    spf = 99,
};

// "A", "txt", "AAAA" ... → type; nullopt for a type the product does not handle.
std::optional<RecordType> parse_record_type(std::string_view text);
std::string_view to_string(RecordType type);

// What a lookup came to. A timeout, SERVFAIL or network error is temperror: it is never
// reported as a negative answer.
enum class Outcome {
    found,      // NOERROR with at least one record of the type asked
    nodata,     // NOERROR, the name exists, no record of this type
    nxdomain,   // the name does not exist
    temperror,  // timeout, SERVFAIL, REFUSED, truncation, network error: try again later
};
std::string_view to_string(Outcome outcome);

struct Answer {
    Outcome outcome = Outcome::nxdomain;

    // One entry per resource record, in presentation form without a trailing dot:
    //   A "192.0.2.1"; AAAA "2001:db8::1"; TXT the character-strings joined, unquoted,
    //   unescaped (raw octets); MX "10 mx.example.com"; PTR, NS, CNAME "host.example.com".
    std::vector<std::string> records;

    // The TTL of the answer; for nodata/nxdomain the negative-caching TTL (SOA minimum) when
    // known, else 0.
    std::uint32_t ttl = 0;

    // For temperror: what went wrong ("timeout after 2000 ms", "SERVFAIL").
    std::string detail;

    bool ok() const { return outcome == Outcome::found; }

    // For nodata/nxdomain: the owner of the SOA that gave ttl (the zone apex, "" for the
    // root), when one was known. Lets a recording place that SOA so that a replay gives the
    // same negative TTL.
    std::optional<std::string> zone;
};

// A resolver must be safe to call from several threads at once.
class Resolver {
public:
    virtual ~Resolver() = default;
    virtual Answer lookup(std::string_view name, RecordType type) = 0;
};

// A configuration problem: a bad resolver address, a zone file that does not parse.
// what() is one line naming the file and line where there is one.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Lookups in a row a server may leave unanswered before the live resolver counts it as down,
// and how long it then stays down before one probe lookup is let through.
constexpr int kDefaultBreakerFailures = 3;
constexpr std::chrono::milliseconds kDefaultBreakerCooloff{10000};

struct LiveOptions {
    // Empty: the nameservers of /etc/resolv.conf.
    std::string server;
    std::uint16_t port = 53;
    std::chrono::milliseconds timeout{2000};
    int retries = 1;

    // Circuit breaker: after this many lookups in a row that a server left unanswered
    // (timeout, refused, network error) it counts as down, and lookups to it are a temperror
    // at once for breaker_cooloff; then one probe lookup is let through, and an answer
    // brings the server back. 0 turns the breaker off.
    int breaker_failures = kDefaultBreakerFailures;
    std::chrono::milliseconds breaker_cooloff = kDefaultBreakerCooloff;
};

// Parses "ADDR", "ADDR:PORT", "[V6ADDR]:PORT" or "V6ADDR" into options.server/port.
// Throws dns::Error on a malformed address or port.
void parse_server_address(std::string_view text, LiveOptions& options);

std::unique_ptr<Resolver> make_live_resolver(const LiveOptions& options);

// Every name and type absent from the files is NXDOMAIN / NODATA. Leading "*." owners are
// wildcards (RFC 4592), CNAMEs are followed, and a comment
//   ; DNS FAULT: <name> [<TYPE>] must fail with TIMEOUT|SERVFAIL
// makes that lookup a temperror, as the shared fixtures require.
// Throws dns::Error ("world.zone:12: ...") on a file that cannot be read or parsed.
std::unique_ptr<Resolver> make_zone_resolver(const std::vector<std::string>& zone_files);

// The PTR owner name for an IPv4 or IPv6 address ("7.2.0.192.in-addr.arpa");
// nullopt when text is not an address.
std::optional<std::string> reverse_name(std::string_view ip);

// --- Persistent cache (`--dns cached`, `relaygate dns cache show|prune`) -------------------

struct CacheOptions {
    // Seconds since the Unix epoch; tests inject their own clock.
    std::function<std::int64_t()> now;

    // How long a negative answer without a SOA (ttl 0) is kept.
    std::uint32_t default_negative_ttl = 60;

    // TTLs above this are shortened to it, so that a hostile huge TTL cannot pin an answer.
    std::uint32_t max_ttl = 86400;
};

// A resolver that answers from cache_file while its entries are fresh and asks upstream
// otherwise, storing the answer (negative ones for their SOA minimum, default_negative_ttl
// when unknown; temperror never). One lookup per name and type is in flight at a time:
// concurrent askers wait for it. Several processes may share cache_file at once. An unusable
// file (corrupt, written by a newer version, unwritable) never throws: one warning goes to
// stderr and the cache runs empty in memory. An empty cache_file keeps the cache in memory.
// Answers served from the cache carry the TTL they have left.
std::unique_ptr<Resolver> make_cached_resolver(std::unique_ptr<Resolver> upstream,
                                               const std::string& cache_file);
std::unique_ptr<Resolver> make_cached_resolver(std::unique_ptr<Resolver> upstream,
                                               const std::string& cache_file,
                                               const CacheOptions& options);

// One stored answer of a cache file.
struct CacheEntry {
    std::string name;  // lowercase, no trailing dot
    RecordType type = RecordType::a;
    Answer answer;            // answer.ttl is the TTL it was stored with
    std::int64_t expires = 0;  // seconds since the Unix epoch
};

// The current seconds since the Unix epoch (the default clock of the cache).
std::int64_t unix_now();

// The entries of a cache file (the newest per name and type, expired ones included), sorted
// by name then type: `relaygate dns cache show` prints them with expires - unix_now() as
// the TTL left. A missing file has no entries. Throws dns::Error when the file cannot be
// read or is not a cache file of this version.
std::vector<CacheEntry> read_cache(const std::string& cache_file);

struct PruneResult {
    std::size_t kept = 0;
    std::size_t removed = 0;  // expired entries and superseded or unreadable lines
};

// `relaygate dns cache prune`: rewrites the file with only the entries fresh at `now`,
// atomically and safely while other processes use it. Throws dns::Error as read_cache does.
PruneResult prune_cache(const std::string& cache_file, std::int64_t now);

// --- Recording (`relaygate dns record -o FILE`) ----------------------------------------------

// Passes lookups through to upstream and remembers every answer, to be written as an RFC 1035
// master file that make_zone_resolver replays with the same outcomes, records and TTLs:
// temperror becomes a "; DNS FAULT:" comment, NXDOMAIN without a SOA is simply absent, NODATA
// is a private-type (TYPE65534) record at the name, a negative TTL a SOA at answer.zone.
class RecordingResolver : public Resolver {
public:
    // The zone file text of everything seen so far, sorted by name.
    virtual std::string zone_text() const = 0;

    // Writes zone_text() to path; throws dns::Error ("cannot write x.zone: ...").
    virtual void write_zone(const std::string& path) const = 0;
};

std::unique_ptr<RecordingResolver> make_recording_resolver(std::unique_ptr<Resolver> upstream);

}  // namespace relaygate::dns
