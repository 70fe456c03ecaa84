// The live resolver: queries built and read by ldns, sent over connected UDP sockets to the
// configured server (or resolv.conf's) with a bounded timeout and retries, EDNS, TCP fallback
// (ldns's) on truncation, CNAME chains read from the answer section, a circuit breaker per
// server, and every failure reported as temperror rather than as a negative answer.
#include "relaygate/dns.hpp"

#include "dns/names.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
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

// The largest DNS message there can be; a UDP reply is read into a buffer this big.
constexpr std::size_t kMaxMessageBytes = 65535;

// The fixed DNS header: a datagram shorter than this is not a reply.
constexpr std::size_t kHeaderBytes = 12;

using Clock = std::chrono::steady_clock;

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

// "192.0.2.1:53" or "[2001:db8::1]:53".
std::string host_port(const std::string& address, std::uint16_t port)
{
    bool v6 = address.find(':') != std::string::npos;
    return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

// One nameserver as the transport and the circuit breaker see it.
struct Nameserver {
    std::string name;  // "127.0.0.1:53", the breaker's key and the name in details
    sockaddr_storage address{};
    socklen_t address_size = 0;
};

// The nameservers an ldns resolver was set up with, in its order.
std::vector<Nameserver> nameservers_of(const ldns_resolver* resolver)
{
    std::vector<Nameserver> servers;
    std::uint16_t port = ldns_resolver_port(resolver);
    ldns_rdf** addresses = ldns_resolver_nameservers(resolver);
    for (std::size_t i = 0; i < ldns_resolver_nameserver_count(resolver); ++i) {
        std::size_t size = 0;
        sockaddr_storage* native = ldns_rdf2native_sockaddr_storage(addresses[i], port, &size);
        if (!native) {
            continue;
        }
        Nameserver server;
        std::memcpy(&server.address, native, std::min(size, sizeof server.address));
        server.address_size = static_cast<socklen_t>(std::min(size, sizeof server.address));
        std::free(native);

        char text[INET6_ADDRSTRLEN] = "";
        const void* raw = server.address.ss_family == AF_INET6
                              ? static_cast<const void*>(
                                    &reinterpret_cast<sockaddr_in6*>(&server.address)->sin6_addr)
                              : &reinterpret_cast<sockaddr_in*>(&server.address)->sin_addr;
        inet_ntop(server.address.ss_family, raw, text, sizeof text);
        server.name = host_port(text, port);
        servers.push_back(std::move(server));
    }
    return servers;
}

// The query for (qname, type) in wire form, as ldns would send it (random id, RD, EDNS);
// empty when it cannot be built.
std::vector<std::uint8_t> query_wire(ldns_resolver* resolver, const ldns_rdf* qname,
                                     ldns_rr_type type)
{
    ldns_pkt* raw = nullptr;
    if (ldns_resolver_prepare_query_pkt(&raw, resolver, qname, type, LDNS_RR_CLASS_IN,
                                        LDNS_RD) != LDNS_STATUS_OK) {
        return {};
    }
    std::unique_ptr<ldns_pkt, PktFree> packet(raw);
    std::uint8_t* wire = nullptr;
    std::size_t size = 0;
    if (ldns_pkt2wire(&wire, packet.get(), &size) != LDNS_STATUS_OK || !wire) {
        return {};
    }
    std::vector<std::uint8_t> bytes(wire, wire + size);
    std::free(wire);
    return bytes;
}

// How one try of one server ended.
enum class Delivery {
    reply,
    timeout,
    refused,        // ICMP port unreachable: nothing listens there
    network_error,  // any other socket error (no route, host unreachable, ...)
};

struct Exchange {
    Delivery delivery = Delivery::timeout;
    std::vector<std::uint8_t> reply;
    int error = 0;  // errno of a network error
};

Exchange failed_exchange(int error)
{
    Exchange exchange;
    exchange.delivery = error == ECONNREFUSED ? Delivery::refused : Delivery::network_error;
    exchange.error = error;
    return exchange;
}

// A socket closed when it goes out of scope.
struct Socket {
    explicit Socket(int descriptor) : fd(descriptor) {}
    ~Socket()
    {
        if (fd >= 0) {
            ::close(fd);
        }
    }
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;
    int fd;
};

// True when datagram is a response (QR set) carrying the id of query.
bool is_reply_to(const std::vector<std::uint8_t>& datagram, std::size_t size,
                 const std::vector<std::uint8_t>& query)
{
    return size >= kHeaderBytes && datagram[0] == query[0] && datagram[1] == query[1] &&
           (datagram[2] & 0x80) != 0;
}

// Sends query to server and waits up to timeout for its reply. The socket is connected so
// that the kernel hands an ICMP port unreachable back as ECONNREFUSED: a server that is not
// there fails at once instead of after the whole timeout (ldns's unconnected sockets cannot
// see it). Datagrams that are not the reply (a late answer to an earlier try) are skipped.
Exchange udp_exchange(const Nameserver& server, const std::vector<std::uint8_t>& query,
                      std::chrono::milliseconds timeout)
{
    Socket socket(::socket(server.address.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                           0));
    if (socket.fd < 0) {
        return failed_exchange(errno);
    }
    const auto* address = reinterpret_cast<const sockaddr*>(&server.address);
    if (::connect(socket.fd, address, server.address_size) != 0 ||
        ::send(socket.fd, query.data(), query.size(), 0) < 0) {
        return failed_exchange(errno);
    }

    auto deadline = Clock::now() + timeout;
    std::vector<std::uint8_t> datagram(kMaxMessageBytes);
    for (auto left = timeout; left.count() > 0;
         left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now())) {
        pollfd wait{socket.fd, POLLIN, 0};
        int ready = ::poll(&wait, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno != EINTR) {
            return failed_exchange(errno);
        }
        if (ready <= 0) {
            continue;
        }
        ssize_t got = ::recv(socket.fd, datagram.data(), datagram.size(), 0);
        if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            return failed_exchange(errno);
        }
        if (got > 0 && is_reply_to(datagram, static_cast<std::size_t>(got), query)) {
            datagram.resize(static_cast<std::size_t>(got));
            Exchange exchange;
            exchange.delivery = Delivery::reply;
            exchange.reply = std::move(datagram);
            return exchange;
        }
    }
    return Exchange{};
}

// What the unanswered tries of one lookup came to, for its temperror detail.
struct FailureTally {
    int timeouts = 0;
    int refusals = 0;
    int network_errors = 0;
    int last_error = 0;

    void add(const Exchange& exchange)
    {
        if (exchange.delivery == Delivery::timeout) {
            ++timeouts;
        } else if (exchange.delivery == Delivery::refused) {
            ++refusals;
        } else {
            ++network_errors;
            last_error = exchange.error;
        }
    }

    // A timeout explains the time spent, so it is named first; then other network errors.
    std::string detail(std::chrono::milliseconds elapsed, int tries,
                       const std::string& server) const
    {
        std::string counted = std::to_string(tries) + (tries == 1 ? " try" : " tries");
        if (timeouts > 0) {
            return "timeout after " + std::to_string(elapsed.count()) + " ms (" + counted +
                   ") asking " + server;
        }
        if (network_errors > 0) {
            return "network error asking " + server + ": " + std::strerror(last_error);
        }
        return "connection refused by " + server + " (" + counted + ")";
    }
};

// Counts, per server, the lookups in a row it left unanswered; at failures_to_open it opens:
// lookups to that server fail at once until the cool-off ends, then one probe lookup is let
// through (half-open) and its answer closes the breaker again, its failure reopens it.
// Shared by every thread of one live resolver.
class CircuitBreaker {
public:
    enum class Verdict { answered, unanswered, not_asked };

    CircuitBreaker(int failures_to_open, std::chrono::milliseconds cooloff)
        : failures_to_open_(failures_to_open), cooloff_(cooloff)
    {
    }

    // nullopt when a lookup may ask server now (then it must report() how that went), else
    // the temperror detail saying why not.
    std::optional<std::string> admit(const std::string& server)
    {
        if (failures_to_open_ <= 0) {
            return std::nullopt;
        }
        std::lock_guard lock(mutex_);
        State& state = states_[server];
        if (!state.open) {
            return std::nullopt;
        }
        std::string down = "resolver " + server + " unreachable (" +
                           std::to_string(state.failures) + " consecutive failures), ";
        auto now = Clock::now();
        if (now < state.probe_at) {
            auto wait = std::chrono::ceil<std::chrono::seconds>(state.probe_at - now);
            return down + "retrying in " + std::to_string(wait.count()) + " s";
        }
        if (state.probing) {
            return down + "a retry is under way";
        }
        state.probing = true;
        return std::nullopt;
    }

    // How a lookup that admit() let through went with server.
    void report(const std::string& server, Verdict verdict)
    {
        if (failures_to_open_ <= 0) {
            return;
        }
        std::lock_guard lock(mutex_);
        State& state = states_[server];
        if (verdict == Verdict::answered) {
            state = State{};
            return;
        }
        if (verdict == Verdict::not_asked) {
            state.probing = false;  // the probe slot goes to the next lookup
            return;
        }
        ++state.failures;
        state.probing = false;
        if (state.open || state.failures >= failures_to_open_) {
            state.open = true;
            state.probe_at = Clock::now() + cooloff_;
        }
    }

private:
    struct State {
        int failures = 0;  // lookups in a row left unanswered
        bool open = false;
        Clock::time_point probe_at;  // when an open breaker lets one probe through
        bool probing = false;        // that probe is under way
    };

    int failures_to_open_;
    std::chrono::milliseconds cooloff_;
    std::mutex mutex_;
    std::map<std::string, State> states_;
};

// The servers one lookup was admitted to, and how each went; reports to the breaker when the
// lookup ends, whichever way it ends, so that a probe slot is never left taken.
class Admission {
public:
    explicit Admission(CircuitBreaker& breaker) : breaker_(breaker) {}
    ~Admission()
    {
        for (std::size_t i = 0; i < servers_.size(); ++i) {
            breaker_.report(servers_[i].name, verdicts_[i]);
        }
    }
    Admission(const Admission&) = delete;
    Admission& operator=(const Admission&) = delete;

    // Admits what the breaker lets through; returns the first refusal's detail, if any.
    std::string admit(const std::vector<Nameserver>& servers)
    {
        std::string refusal;
        for (const Nameserver& server : servers) {
            std::optional<std::string> why = breaker_.admit(server.name);
            if (!why) {
                servers_.push_back(server);
                verdicts_.push_back(CircuitBreaker::Verdict::not_asked);
            } else if (refusal.empty()) {
                refusal = std::move(*why);
            }
        }
        return refusal;
    }

    const std::vector<Nameserver>& servers() const { return servers_; }
    void mark(std::size_t index, CircuitBreaker::Verdict verdict) { verdicts_[index] = verdict; }

private:
    CircuitBreaker& breaker_;
    std::vector<Nameserver> servers_;
    std::vector<CircuitBreaker::Verdict> verdicts_;
};

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
    Answer ask(Admission& admission, ldns_resolver* resolver, const ldns_rdf* qname,
               ldns_rr_type type);
    Answer read_reply(ldns_resolver* resolver, const std::vector<std::uint8_t>& reply,
                      const ldns_rdf* qname, ldns_rr_type type, const std::string& server);
    Answer ask_over_tcp(ldns_resolver* resolver, const ldns_rdf* qname, ldns_rr_type type,
                        const std::string& server);

    LiveOptions options_;
    std::string server_;  // for messages: "127.0.0.1:53" or "the resolv.conf nameservers"
    CircuitBreaker breaker_;

    // ldns_resolver keeps per-server state and is not documented as thread-safe: each thread
    // takes one from this pool for the length of a lookup, so the pool grows to the number of
    // threads that ask at once.
    std::mutex mutex_;
    std::vector<ldns_resolver*> idle_;
};

LiveResolver::LiveResolver(const LiveOptions& options)
    : options_(options), breaker_(options.breaker_failures, options.breaker_cooloff)
{
    if (options_.timeout < kMinTimeout) {
        throw Error("dns timeout of " + std::to_string(options_.timeout.count()) +
                    " ms is too short (at least " + std::to_string(kMinTimeout.count()) + ")");
    }
    options_.retries = std::max(options_.retries, 0);
    if (options_.server.empty()) {
        server_ = "the resolv.conf nameservers";
    } else {
        server_ = host_port(options_.server, options_.port);
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
    // ldns sends only the TCP retry of a truncated answer (ask_over_tcp), once: ask() does
    // the retries over UDP.
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

// Asks the servers the circuit breaker lets through; when it lets none through, the lookup is
// a temperror at once.
Answer LiveResolver::query(ldns_resolver* resolver, const ldns_rdf* qname, ldns_rr_type type)
{
    std::vector<Nameserver> servers = nameservers_of(resolver);
    if (servers.empty()) {
        return temperror("no usable nameserver among " + server_);
    }
    Admission admission(breaker_);
    std::string refusal = admission.admit(servers);
    if (admission.servers().empty()) {
        return temperror(refusal);
    }
    return ask(admission, resolver, qname, type);
}

// Asks each admitted server in turn, up to 1 + retries rounds; only a failure to get any
// reply is retried.
Answer LiveResolver::ask(Admission& admission, ldns_resolver* resolver, const ldns_rdf* qname,
                         ldns_rr_type type)
{
    std::vector<std::uint8_t> wire = query_wire(resolver, qname, type);
    if (wire.size() < kHeaderBytes) {
        return temperror("cannot build the query for " + detail::dname_key(qname));
    }

    auto start = Clock::now();
    FailureTally tally;
    const std::vector<Nameserver>& servers = admission.servers();
    for (int attempt = 0; attempt <= options_.retries; ++attempt) {
        for (std::size_t i = 0; i < servers.size(); ++i) {
            Exchange exchange = udp_exchange(servers[i], wire, options_.timeout);
            if (exchange.delivery == Delivery::reply) {
                admission.mark(i, CircuitBreaker::Verdict::answered);
                return read_reply(resolver, exchange.reply, qname, type, servers[i].name);
            }
            admission.mark(i, CircuitBreaker::Verdict::unanswered);
            tally.add(exchange);
        }
    }

    auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    return temperror(tally.detail(elapsed, options_.retries + 1, server_));
}

// What a UDP reply says; a truncated one is asked again over TCP.
Answer LiveResolver::read_reply(ldns_resolver* resolver, const std::vector<std::uint8_t>& reply,
                                const ldns_rdf* qname, ldns_rr_type type,
                                const std::string& server)
{
    ldns_pkt* raw = nullptr;
    if (ldns_wire2pkt(&raw, reply.data(), reply.size()) != LDNS_STATUS_OK || !raw) {
        return temperror("malformed reply from " + server);
    }
    std::unique_ptr<ldns_pkt, PktFree> packet(raw);
    if (ldns_pkt_tc(packet.get())) {
        return ask_over_tcp(resolver, qname, type, server);
    }
    return answer_from_packet(packet.get(), qname, type, server);
}

// The question again over TCP, through ldns's own transport, for an answer too big for UDP.
// TODO: ldns asks every nameserver of the resolver in its order here, those the breaker counts
// as down included; tolerated because only a truncated UDP answer leads here, and that answer
// came from a server that is up (the first one, with --resolver or a sane resolv.conf).
Answer LiveResolver::ask_over_tcp(ldns_resolver* resolver, const ldns_rdf* qname,
                                  ldns_rr_type type, const std::string& server)
{
    // ldns marks a server that failed as unreachable for good and then refuses to ask it at
    // all ("No (valid) nameservers defined"): give every server a fresh start.
    for (std::size_t i = 0; i < ldns_resolver_nameserver_count(resolver); ++i) {
        ldns_resolver_set_nameserver_rtt(resolver, i, LDNS_RESOLV_RTT_MIN);
    }
    ldns_resolver_set_usevc(resolver, true);
    ldns_pkt* raw = nullptr;
    ldns_status status = ldns_resolver_query_status(&raw, resolver, qname, type,
                                                    LDNS_RR_CLASS_IN, LDNS_RD);
    ldns_resolver_set_usevc(resolver, false);
    std::unique_ptr<ldns_pkt, PktFree> packet(raw);

    if (status != LDNS_STATUS_OK || !packet) {
        const char* what = ldns_get_errorstr_by_id(status);
        return temperror("truncated answer from " + server + " and TCP failed: " +
                         (what ? what : "unknown ldns status " + std::to_string(status)));
    }
    return answer_from_packet(packet.get(), qname, type, server);
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
