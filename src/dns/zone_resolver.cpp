// The zone world: RFC 1035 master files taken as the whole DNS, answered from an in-memory
// index with wildcards (RFC 4592), CNAME chains, NXDOMAIN vs NODATA, negative TTLs from the
// covering SOA, and the "; DNS FAULT:" comments of the shared fixtures.
#include "relaygate/dns.hpp"

#include "dns/names.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <sstream>
#include <unordered_map>

namespace relaygate::dns {
namespace {

using detail::RdfFree;
using detail::RrFree;

// A CNAME chain longer than this is answered like a loop: temperror, as resolvers SERVFAIL.
constexpr int kMaxCnameChain = 8;

// The TTL a record without one gets when the file has no $TTL before it (ldns's default).
constexpr std::uint32_t kDefaultTtl = 3600;

// A fault comment for any type of its name.
constexpr std::uint16_t kAnyType = 0;

struct RecordSet {
    std::uint16_t type = 0;
    std::uint32_t ttl = 0;
    std::vector<std::string> records;
};

// A name of the world; with no record sets it exists only as an empty non-terminal.
struct Node {
    std::vector<RecordSet> sets;

    const RecordSet* find(std::uint16_t type) const
    {
        for (const RecordSet& set : sets) {
            if (set.type == type) {
                return &set;
            }
        }
        return nullptr;
    }
};

// Where a fault comment was and what it demands.
struct Fault {
    std::uint16_t type = 0;  // kAnyType for every type
    bool servfail = false;
    std::string where;  // "world.zone:12"
};

// Lets the maps be searched with a string_view, so that a lookup allocates nothing.
struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view name) const
    {
        return std::hash<std::string_view>()(name);
    }
};
template <typename Value>
using NameMap = std::unordered_map<std::string, Value, NameHash, std::equal_to<>>;

std::string lowercase_first(std::string text)
{
    if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z') {
        text[0] = static_cast<char>(text[0] - 'A' + 'a');
    }
    return text;
}

// Everything the files say, indexed by lowercase owner name. Immutable once loaded, so that
// any number of threads may read it at once.
class ZoneWorld {
public:
    void load_file(const std::string& path);
    Answer lookup(std::string_view name, RecordType type) const;

private:
    void add_record(const ldns_rr* rr);
    void add_name(const std::string& key);
    void load_records(const std::string& path);
    void load_faults(const std::string& path);
    void parse_fault(std::string_view text, const std::string& where);
    const Node* find_node(std::string_view key) const;
    const Node* wildcard_source(std::string_view key) const;
    const Fault* find_fault(std::string_view key, std::uint16_t type) const;
    Answer negative(Outcome outcome, std::string_view key) const;

    NameMap<Node> nodes_;
    NameMap<std::uint32_t> soa_negative_ttls_;
    NameMap<std::vector<Fault>> faults_;
};

// Adds a file's records and fault comments to the world.
void ZoneWorld::load_file(const std::string& path)
{
    load_records(path);
    load_faults(path);
}

// Reads every RR with ldns_rr_new_frm_fp_l. ldns_zone_new_frm_fp_l is not used because it
// silently drops every SOA after the first, and a world (a recording above all) holds several.
void ZoneWorld::load_records(const std::string& path)
{
    std::unique_ptr<FILE, decltype(&std::fclose)> file(std::fopen(path.c_str(), "r"),
                                                       &std::fclose);
    if (!file) {
        throw Error("cannot open " + path + ": " + std::strerror(errno));
    }

    std::uint32_t default_ttl = kDefaultTtl;
    ldns_rdf* origin = ldns_dname_new_frm_str(".");
    ldns_rdf* previous = nullptr;
    int line = 0;
    ldns_status status = LDNS_STATUS_OK;
    while (!std::feof(file.get())) {
        ldns_rr* raw = nullptr;
        status = ldns_rr_new_frm_fp_l(&raw, file.get(), &default_ttl, &origin, &previous, &line);
        std::unique_ptr<ldns_rr, RrFree> rr(raw);
        if (status == LDNS_STATUS_OK) {
            add_record(rr.get());
            continue;
        }
        if (status != LDNS_STATUS_SYNTAX_EMPTY && status != LDNS_STATUS_SYNTAX_TTL &&
            status != LDNS_STATUS_SYNTAX_ORIGIN) {
            break;
        }
        status = LDNS_STATUS_OK;
    }
    RdfFree()(origin);
    if (previous) {
        RdfFree()(previous);
    }

    if (status == LDNS_STATUS_SYNTAX_INCLUDE) {
        throw Error(path + ":" + std::to_string(std::max(line, 1)) +
                    ": $INCLUDE is not supported (give each file with its own --dns-zone)");
    }
    if (status != LDNS_STATUS_OK) {
        const char* what = ldns_get_errorstr_by_id(status);
        throw Error(path + ":" + std::to_string(std::max(line, 1)) + ": " +
                    lowercase_first(what ? what : "unreadable record"));
    }
}

// Adds one RR to its owner's record set of the same type, and its ancestors as names.
void ZoneWorld::add_record(const ldns_rr* rr)
{
    std::string owner = detail::dname_key(ldns_rr_owner(rr));
    std::uint16_t type = ldns_rr_get_type(rr);
    std::uint32_t ttl = ldns_rr_ttl(rr);
    std::string text = detail::record_text(rr);
    add_name(owner);

    Node& node = nodes_[owner];
    auto set = std::find_if(node.sets.begin(), node.sets.end(),
                            [type](const RecordSet& s) { return s.type == type; });
    if (set == node.sets.end()) {
        node.sets.push_back(RecordSet{type, ttl, {}});
        set = std::prev(node.sets.end());
    }
    set->ttl = std::min(set->ttl, ttl);
    // An RRset is a set: the same record in two merged files is one record.
    if (std::find(set->records.begin(), set->records.end(), text) == set->records.end()) {
        set->records.push_back(std::move(text));
    }

    if (type == LDNS_RR_TYPE_SOA) {
        std::uint32_t negative_ttl = detail::soa_negative_ttl(rr);
        auto [it, inserted] = soa_negative_ttls_.emplace(owner, negative_ttl);
        if (!inserted) {
            it->second = std::min(it->second, negative_ttl);
        }
    }
}

// Makes key and every name above it exist (the ancestors as empty non-terminals).
void ZoneWorld::add_name(const std::string& key)
{
    std::optional<std::string_view> name = key;
    while (name) {
        auto [it, inserted] = nodes_.try_emplace(std::string(*name));
        if (!inserted) {
            return;  // its ancestors were added with it
        }
        name = detail::parent_name(*name);
    }
}

// Reads the "; DNS FAULT:" comments, which ldns skips as comments.
void ZoneWorld::load_faults(const std::string& path)
{
    static constexpr std::string_view kMarker = "DNS FAULT:";
    std::ifstream in(path);
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        std::string_view text = line;
        std::size_t start = text.find_first_not_of(" \t");
        if (start == std::string_view::npos || text[start] != ';') {
            continue;
        }
        text.remove_prefix(start + 1);
        text.remove_prefix(std::min(text.size(), text.find_first_not_of(" \t")));
        if (text.substr(0, kMarker.size()) != kMarker) {
            continue;
        }
        parse_fault(text.substr(kMarker.size()), path + ":" + std::to_string(number));
    }
}

// Parses "<name> [<TYPE>] must fail with TIMEOUT|SERVFAIL ..." after the marker.
void ZoneWorld::parse_fault(std::string_view text, const std::string& where)
{
    std::istringstream words{std::string(text)};
    std::vector<std::string> tokens;
    for (std::string word; tokens.size() < 6 && words >> word;) {
        tokens.push_back(word);
    }
    auto malformed = [&where]() {
        return Error(where + ": malformed DNS FAULT comment (want \"; DNS FAULT: <name> "
                             "[<TYPE>] must fail with TIMEOUT|SERVFAIL\")");
    };
    if (tokens.size() < 5) {
        throw malformed();
    }

    std::optional<std::string> name = detail::canonical_name(tokens[0]);
    std::uint16_t type = kAnyType;
    std::size_t verb = 1;
    if (tokens[1] != "must") {
        verb = 2;
        if (tokens[1] != "ANY") {
            type = ldns_get_rr_type_by_name(tokens[1].c_str());
            if (type == 0) {
                throw Error(where + ": unknown record type " + tokens[1] + " in DNS FAULT");
            }
        }
    }
    if (!name || tokens.size() < verb + 4 || tokens[verb] != "must" ||
        tokens[verb + 1] != "fail" || tokens[verb + 2] != "with") {
        throw malformed();
    }
    std::string kind = tokens[verb + 3];
    if (kind != "TIMEOUT" && kind != "SERVFAIL") {
        throw malformed();
    }
    faults_[*name].push_back(Fault{type, kind == "SERVFAIL", where});
}

const Node* ZoneWorld::find_node(std::string_view key) const
{
    auto it = nodes_.find(key);
    return it == nodes_.end() ? nullptr : &it->second;
}

// RFC 4592: for a name that does not exist, the wildcard "*." + its closest encloser.
const Node* ZoneWorld::wildcard_source(std::string_view key) const
{
    std::optional<std::string_view> encloser = detail::parent_name(key);
    while (encloser && !nodes_.contains(*encloser)) {
        encloser = detail::parent_name(*encloser);
    }
    if (!encloser) {
        return nullptr;
    }
    std::string wildcard = encloser->empty() ? "*" : "*." + std::string(*encloser);
    return find_node(wildcard);
}

const Fault* ZoneWorld::find_fault(std::string_view key, std::uint16_t type) const
{
    auto it = faults_.find(key);
    if (it == faults_.end()) {
        return nullptr;
    }
    for (const Fault& fault : it->second) {
        if (fault.type == type || fault.type == kAnyType) {
            return &fault;
        }
    }
    return nullptr;
}

// A negative answer, with the TTL of the closest SOA at or above key.
Answer ZoneWorld::negative(Outcome outcome, std::string_view key) const
{
    Answer answer;
    answer.outcome = outcome;
    std::optional<std::string_view> name = key;
    while (name) {
        auto it = soa_negative_ttls_.find(*name);
        if (it != soa_negative_ttls_.end()) {
            answer.ttl = it->second;
            answer.zone = it->first;
            break;
        }
        name = detail::parent_name(*name);
    }
    return answer;
}

// RFC 1034 section 4.3.2 for a world of one flat namespace: faults first, then the name or
// its wildcard, then its records of the type, else a CNAME to follow, else NODATA.
Answer ZoneWorld::lookup(std::string_view name, RecordType type) const
{
    std::optional<std::string> key = detail::canonical_name(name);
    if (!key) {
        Answer invalid;
        invalid.outcome = Outcome::nxdomain;
        invalid.detail = "invalid domain name";
        return invalid;
    }
    auto wanted = static_cast<std::uint16_t>(type);
    std::uint32_t chain_ttl = std::numeric_limits<std::uint32_t>::max();

    for (int hop = 0; hop <= kMaxCnameChain; ++hop) {
        if (const Fault* fault = find_fault(*key, wanted)) {
            Answer failed;
            failed.outcome = Outcome::temperror;
            failed.detail = std::string(fault->servfail ? "SERVFAIL" : "timeout") +
                            " (DNS FAULT at " + fault->where + ")";
            return failed;
        }

        const Node* node = find_node(*key);
        if (!node) {
            node = wildcard_source(*key);
        }
        if (!node) {
            return negative(Outcome::nxdomain, *key);
        }

        if (const RecordSet* set = node->find(wanted)) {
            Answer found;
            found.outcome = Outcome::found;
            found.records = set->records;
            found.ttl = std::min(chain_ttl, set->ttl);
            return found;
        }

        // Follow a CNAME (never when the CNAME itself is asked for).
        const RecordSet* alias = node->find(LDNS_RR_TYPE_CNAME);
        if (!alias || type == RecordType::cname || alias->records.empty()) {
            return negative(Outcome::nodata, *key);
        }
        std::optional<std::string> target = detail::canonical_name(alias->records.front());
        if (!target) {
            return negative(Outcome::nxdomain, *key);
        }
        chain_ttl = std::min(chain_ttl, alias->ttl);
        key = std::move(target);
    }

    Answer looped;
    looped.outcome = Outcome::temperror;
    looped.detail = "CNAME chain longer than " + std::to_string(kMaxCnameChain) + " (a loop?)";
    return looped;
}

class ZoneResolver : public Resolver {
public:
    explicit ZoneResolver(ZoneWorld world) : world_(std::move(world)) {}

    Answer lookup(std::string_view name, RecordType type) override
    {
        return world_.lookup(name, type);
    }

private:
    const ZoneWorld world_;
};

}  // namespace

std::unique_ptr<Resolver> make_zone_resolver(const std::vector<std::string>& zone_files)
{
    ZoneWorld world;
    for (const std::string& path : zone_files) {
        world.load_file(path);
    }
    return std::make_unique<ZoneResolver>(std::move(world));
}

}  // namespace relaygate::dns
