// dns — the one resolver interface behind every lookup of every layer, the C libraries'
// included, and the sources that stand behind it: live (ldns), a zone world (RFC 1035 master
// files taken as the whole DNS), and (later) a persistent cache.
#pragma once

#include <chrono>
#include <cstdint>
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

struct LiveOptions {
    // Empty: the nameservers of /etc/resolv.conf.
    std::string server;
    std::uint16_t port = 53;
    std::chrono::milliseconds timeout{2000};
    int retries = 1;
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

}  // namespace relaygate::dns
