// The live resolver: ldns queries to the configured server (or resolv.conf's), with a bounded
// timeout and retries, EDNS, TCP fallback on truncation, CNAME chains read from the answer
// section, and every failure reported as temperror rather than as a negative answer.
#include "relaygate/dns.hpp"

#include "dns/names.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <mutex>

namespace relaygate::dns {
namespace {

using detail::PktFree;
using detail::RdfFree;

// EDNS buffer size recommended by the 2020 DNS flag day: no IP fragmentation.
constexpr std::uint16_t kEdnsUdpSize = 1232;

// How many CNAMEs of an answer section are followed before giving up.
constexpr int kMaxCnameChain = 8;

// A timeout below this is a configuration mistake rather than a wish.
constexpr std::chrono::milliseconds kMinTimeout{10};

Answer temperror(std::string detail)
{
    Answer answer;
    answer.outcome = Outcome::temperror;
    answer.detail = std::move(detail);
    return answer;
}

bool is_ipv4(const std::string& text)
{
    in_addr address{};
    return inet_pton(AF_INET, text.c_str(), &address) == 1;
}

bool is_ipv6(const std::string& text)
{
    in6_addr address{};
    return inet_pton(AF_INET6, text.c_str(), &address) == 1;
}

// The name of a DNS RCODE ("SERVFAIL"), or its number.
std::string rcode_name(ldns_pkt_rcode rcode)
{
    const ldns_lookup_table* entry = ldns_lookup_by_id(ldns_rcodes, static_cast<int>(rcode));
    return entry && entry->name ? entry->name : "RCODE " + std::to_string(rcode);
}

// The records of the type asked that the answer section gives for qname, following CNAMEs;
// found is false when the chain ends without one.
struct ChainResult {
    bool found = false;
    std::vector<std::string> records;
    std::uint32_t ttl = std::numeric_limits<std::uint32_t>::max();
};

ChainResult follow_answer_chain(const ldns_pkt* packet, const ldns_rdf* qname, ldns_rr_type type)
{
    ChainResult result;
    const ldns_rr_list* answers = ldns_pkt_answer(packet);
    std::size_t count = answers ? ldns_rr_list_rr_count(answers) : 0;
    const ldns_rdf* current = qname;

    for (int hop = 0; hop <= kMaxCnameChain; ++hop) {
        const ldns_rr* alias = nullptr;
        for (std::size_t i = 0; i < count; ++i) {
            const ldns_rr* rr = ldns_rr_list_rr(answers, i);
            if (ldns_dname_compare(ldns_rr_owner(rr), current) != 0) {
                continue;
            }
            if (ldns_rr_get_type(rr) == type) {
                result.found = true;
                result.records.push_back(detail::record_text(rr));
                result.ttl = std::min(result.ttl, ldns_rr_ttl(rr));
            } else if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME && ldns_rr_rd_count(rr) > 0) {
                alias = rr;
            }
        }
        if (result.found || !alias || type == LDNS_RR_TYPE_CNAME) {
            return result;
        }
        result.ttl = std::min(result.ttl, ldns_rr_ttl(alias));
        current = ldns_rr_rdf(alias, 0);
    }
    return result;
}

// The negative TTL and zone the authority section's SOA gives (RFC 2308 section 5).
void add_negative_ttl(const ldns_pkt* packet, Answer& answer)
{
    const ldns_rr_list* authority = ldns_pkt_authority(packet);
    std::size_t count = authority ? ldns_rr_list_rr_count(authority) : 0;
    for (std::size_t i = 0; i < count; ++i) {
        const ldns_rr* rr = ldns_rr_list_rr(authority, i);
        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA) {
            answer.ttl = detail::soa_negative_ttl(rr);
            answer.zone = detail::dname_key(ldns_rr_owner(rr));
            return;
        }
    }
}

// What a reply packet says about the question (qname, type).
Answer answer_from_packet(const ldns_pkt* packet, const ldns_rdf* qname, ldns_rr_type type,
                          const std::string& server)
{
    if (ldns_pkt_tc(packet)) {
        return temperror("truncated answer from " + server + " even over TCP");
    }
    ldns_pkt_rcode rcode = ldns_pkt_get_rcode(packet);
    if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN) {
        return temperror(rcode_name(rcode) + " from " + server);
    }

    ChainResult chain = follow_answer_chain(packet, qname, type);
    Answer answer;
    if (chain.found) {
        answer.outcome = Outcome::found;
        answer.records = std::move(chain.records);
        answer.ttl = chain.ttl;
        return answer;
    }
    answer.outcome = rcode == LDNS_RCODE_NXDOMAIN ? Outcome::nxdomain : Outcome::nodata;
    add_negative_ttl(packet, answer);
    return answer;
}

class LiveResolver : public Resolver {
public:
    explicit LiveResolver(const LiveOptions& options);
    ~LiveResolver() override;
    LiveResolver(const LiveResolver&) = delete;
    LiveResolver& operator=(const LiveResolver&) = delete;

    Answer lookup(std::string_view name, RecordType type) override;

private:
    ldns_resolver* new_resolver() const;
    ldns_resolver* acquire();
    void release(ldns_resolver* resolver);
    Answer query(ldns_resolver* resolver, const ldns_rdf* qname, ldns_rr_type type);

    LiveOptions options_;
    std::string server_;  // for messages: "127.0.0.1:53" or "the resolv.conf nameservers"

    // ldns_resolver keeps per-server state and is not documented as thread-safe: each thread
    // takes one from this pool for the length of a lookup, so the pool grows to the number of
    // threads that ask at once.
    std::mutex mutex_;
    std::vector<ldns_resolver*> idle_;
};

LiveResolver::LiveResolver(const LiveOptions& options) : options_(options)
{
    if (options_.timeout < kMinTimeout) {
        throw Error("dns timeout of " + std::to_string(options_.timeout.count()) +
                    " ms is too short (at least " + std::to_string(kMinTimeout.count()) + ")");
    }
    options_.retries = std::max(options_.retries, 0);
    if (options_.server.empty()) {
        server_ = "the resolv.conf nameservers";
    } else {
        bool v6 = options_.server.find(':') != std::string::npos;
        server_ = (v6 ? "[" + options_.server + "]" : options_.server) + ":" +
                  std::to_string(options_.port);
    }
    release(new_resolver());  // fail now, not at the first lookup, on a bad configuration
}

LiveResolver::~LiveResolver()
{
    for (ldns_resolver* resolver : idle_) {
        ldns_resolver_deep_free(resolver);
    }
}

// A resolver set up as options_ say.
ldns_resolver* LiveResolver::new_resolver() const
{
    ldns_resolver* resolver = nullptr;
    if (options_.server.empty()) {
        if (ldns_resolver_new_frm_file(&resolver, nullptr) != LDNS_STATUS_OK || !resolver) {
            throw Error("cannot read the nameservers of /etc/resolv.conf");
        }
    } else {
        resolver = ldns_resolver_new();
        if (!resolver) {
            throw Error("cannot create a dns resolver: out of memory");
        }
        ldns_rdf_type kind = is_ipv4(options_.server) ? LDNS_RDF_TYPE_A : LDNS_RDF_TYPE_AAAA;
        ldns_rdf* address = ldns_rdf_new_frm_str(kind, options_.server.c_str());
        if (!address || ldns_resolver_push_nameserver(resolver, address) != LDNS_STATUS_OK) {
            if (address) {
                RdfFree()(address);
            }
            ldns_resolver_deep_free(resolver);
            throw Error("bad resolver address " + options_.server);
        }
        RdfFree()(address);  // push copies it
        ldns_resolver_set_port(resolver, options_.port);
    }

    auto milliseconds = options_.timeout.count();
    timeval timeout{};
    timeout.tv_sec = static_cast<time_t>(milliseconds / 1000);
    timeout.tv_usec = static_cast<suseconds_t>((milliseconds % 1000) * 1000);
    ldns_resolver_set_timeout(resolver, timeout);
    // One try per ldns call: ldns repeats both per server and around the whole send, so its
    // own count would square; lookup() does the retries.
    ldns_resolver_set_retry(resolver, 1);
    ldns_resolver_set_recursive(resolver, true);
    ldns_resolver_set_edns_udp_size(resolver, kEdnsUdpSize);
    ldns_resolver_set_fallback(resolver, true);
    ldns_resolver_set_dnssec(resolver, false);
    ldns_resolver_set_defnames(resolver, false);
    ldns_resolver_set_dnsrch(resolver, false);
    ldns_resolver_set_random(resolver, false);
    return resolver;
}

// An idle resolver of the pool, or a new one when every one is busy.
ldns_resolver* LiveResolver::acquire()
{
    {
        std::lock_guard lock(mutex_);
        if (!idle_.empty()) {
            ldns_resolver* resolver = idle_.back();
            idle_.pop_back();
            return resolver;
        }
    }
    return new_resolver();
}

// Returns a resolver to the pool for the next lookup of any thread.
void LiveResolver::release(ldns_resolver* resolver)
{
    std::lock_guard lock(mutex_);
    idle_.push_back(resolver);
}

// Asks with a resolver of the pool; a name that is not a domain name is never sent.
Answer LiveResolver::lookup(std::string_view name, RecordType type)
{
    std::optional<std::string> key = detail::canonical_name(name);
    std::unique_ptr<ldns_rdf, RdfFree> qname;
    if (key) {
        qname.reset(ldns_dname_new_frm_str((*key + ".").c_str()));
    }
    if (!qname) {
        Answer invalid;
        invalid.outcome = Outcome::nxdomain;
        invalid.detail = "invalid domain name";
        return invalid;
    }

    ldns_resolver* resolver = acquire();
    Answer answer;
    try {
        answer = query(resolver, qname.get(), static_cast<ldns_rr_type>(type));
    } catch (...) {
        release(resolver);
        throw;
    }
    release(resolver);
    return answer;
}

// Asks up to 1 + retries times; only a failure to get any reply is retried.
Answer LiveResolver::query(ldns_resolver* resolver, const ldns_rdf* qname, ldns_rr_type type)
{
    auto start = std::chrono::steady_clock::now();
    ldns_status status = LDNS_STATUS_OK;
    for (int attempt = 0; attempt <= options_.retries; ++attempt) {
        // ldns marks a server that timed out as unreachable for good and then refuses to ask
        // it at all ("No (valid) nameservers defined"): give every server a fresh start.
        for (std::size_t i = 0; i < ldns_resolver_nameserver_count(resolver); ++i) {
            ldns_resolver_set_nameserver_rtt(resolver, i, LDNS_RESOLV_RTT_MIN);
        }
        ldns_pkt* raw = nullptr;
        status = ldns_resolver_query_status(&raw, resolver, qname, type, LDNS_RR_CLASS_IN,
                                            LDNS_RD);
        std::unique_ptr<ldns_pkt, PktFree> packet(raw);
        if (status == LDNS_STATUS_OK && packet) {
            return answer_from_packet(packet.get(), qname, type, server_);
        }
    }

    // ldns reports a timeout as a network error: tell them apart by the time it took.
    auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    int tries = options_.retries + 1;
    if (status == LDNS_STATUS_NETWORK_ERR && elapsed >= options_.timeout * tries * 9 / 10) {
        return temperror("timeout after " + std::to_string(elapsed.count()) + " ms (" +
                         std::to_string(tries) + (tries == 1 ? " try" : " tries") +
                         ") asking " + server_);
    }
    const char* what = ldns_get_errorstr_by_id(status);
    return temperror("network error asking " + server_ + ": " +
                     (what ? what : "unknown ldns status " + std::to_string(status)));
}

// Reads a decimal port 1..65535.
std::uint16_t parse_port(std::string_view text, std::string_view whole)
{
    unsigned value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc() || end != text.data() + text.size() || value == 0 ||
        value > std::numeric_limits<std::uint16_t>::max()) {
        throw Error("bad resolver address " + std::string(whole) + ": port must be 1-65535");
    }
    return static_cast<std::uint16_t>(value);
}

}  // namespace

// Without a port, options.port is left as it was (53 unless the caller changed it).
void parse_server_address(std::string_view text, LiveOptions& options)
{
    constexpr std::size_t kMaxAddressText = 64;
    std::string whole(text.substr(0, kMaxAddressText));
    auto bad = [&whole](const std::string& why) {
        return Error("bad resolver address " + whole + ": " + why);
    };
    if (text.empty() || text.size() > kMaxAddressText) {
        throw bad("want ADDR, ADDR:PORT, [V6ADDR]:PORT or V6ADDR");
    }

    // "[v6]" or "[v6]:port".
    if (text.front() == '[') {
        std::size_t close = text.find(']');
        if (close == std::string_view::npos) {
            throw bad("missing ]");
        }
        std::string address(text.substr(1, close - 1));
        std::string_view rest = text.substr(close + 1);
        if (!is_ipv6(address)) {
            throw bad("not an IPv6 address");
        }
        if (!rest.empty() && rest.front() != ':') {
            throw bad("want [V6ADDR]:PORT");
        }
        if (!rest.empty()) {
            options.port = parse_port(rest.substr(1), whole);
        }
        options.server = address;
        return;
    }

    // A bare IPv6 address has two or more colons; "addr:port" has one.
    std::string all(text);
    if (std::count(text.begin(), text.end(), ':') >= 2) {
        if (!is_ipv6(all)) {
            throw bad("not an IP address");
        }
        options.server = all;
        return;
    }
    std::size_t colon = text.find(':');
    std::string address(text.substr(0, colon));
    if (!is_ipv4(address)) {
        throw bad("not an IP address");
    }
    if (colon != std::string_view::npos) {
        options.port = parse_port(text.substr(colon + 1), whole);
    }
    options.server = address;
}

std::unique_ptr<Resolver> make_live_resolver(const LiveOptions& options)
{
    return std::make_unique<LiveResolver>(options);
}

}  // namespace relaygate::dns
