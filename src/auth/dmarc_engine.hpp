// The DMARC adapter behind DmarcEvaluator, on author domains already read from the From field,
// so that it can be tested without the message module.
//
// Which parts of libopendmarc are kept, and why: only its record parser
// (opendmarc_policy_store_dmarc and the fetch_* accessors), which reads p, sp, adkim, aspf and
// pct as RFC 7489 says, after each value has been checked against the RFC's literals (it reads
// "p=r" as reject and "adkim=strict" as s). Record discovery goes through our dns::Resolver
// (its own does res_ninit per query and its fake-DNS list is an unlocked global). It knows
// nothing of RFC 9989 (np=, t=, psd=, the DNS tree walk): those are done here
// (dmarc_treewalk.cpp). Alignment and the policy to apply are computed here too, because
// libopendmarc lets a public-suffix d= align, finds no organizational domain under TLDs absent
// from the PSL (.test), reads "*." rules as plain ones, compares case-sensitively, and ignores
// pct= (DEPENDENCIES.md 5).
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relaygate/auth.hpp"
#include "relaygate/dns.hpp"

namespace relaygate::auth::detail {

// What the RFC5322.From field gave (RFC 7489 6.6.1).
struct AuthorDomains {
    std::size_t from_fields = 1;    // how many From fields the message has
    std::vector<std::string> domains;  // the domain of each mailbox, as written
    bool parsed = true;             // the address list parsed cleanly
    std::string problem;            // why not
};

// A DMARC record after discarding invalid tags (RFC 7489 6.3, RFC 9989 4.7).
struct DmarcRecord {
    std::string p;        // none | quarantine | reject
    std::string sp;       // "" when absent
    std::string np;       // "" when absent (RFC 9989: non-existent subdomains)
    bool strict_dkim = false;
    bool strict_spf = false;
    int pct = 100;
    bool pct_given = false;        // a valid pct= was published (historic in RFC 9989)
    std::optional<bool> testing;   // t=y / t=n, when a valid t= was published
    char psd = 'u';                // psd= y | n | u
    std::string rua;               // as published, case kept
    std::string note;     // what was discarded or assumed, "" when nothing
};

// Whether a TXT record is a DMARC record: a first tag v=DMARC1, the value case-sensitive and
// exact, whitespace allowed around "=" (RFC 9989 4.7 ABNF).
bool is_dmarc_record(std::string_view text);

// The psd= flag of a DMARC record ('y', 'n', or 'u' when absent or invalid).
char psd_flag(std::string_view text);

// Parses the text of one v=DMARC1 record; nullopt (problem set) when DMARC processing does not
// apply: no valid p=, sp= or np= and no rua= (RFC 7489 6.6.3, RFC 9989 4.10.1).
std::optional<DmarcRecord> parse_dmarc_record(std::string_view text, std::string_view domain,
                                              std::string& problem);

// pct= sampling (RFC 7489 6.6.4), deterministic: the same key always gives the same answer.
bool selected_by_pct(std::string_view sampling_key, int pct);

// Lowercased, trailing dot removed.
std::string normalize_domain(std::string_view domain);

// A host name: labels of letters, digits, "-" and "_" (or UTF-8), none empty or too long.
bool is_domain_name(std::string_view domain);

// The names an RFC 9989 4.10 tree walk from domain queries (without "_dmarc."), in order: the
// domain, then its ancestors one label at a time, jumping first to the last 7 labels when it
// has more than 8, so at most 8 names.
std::vector<std::string> tree_walk_names(std::string_view domain);

// What one name of a tree walk held.
struct WalkStep {
    std::string domain;              // the name queried, without "_dmarc."
    std::size_t dmarc_records = 0;   // v=DMARC1 records found there
    std::string record;              // the record, when there was exactly one
    bool has_record() const { return dmarc_records == 1; }
};

struct TreeWalk {
    std::string start;
    std::vector<WalkStep> steps;     // in query order
    bool temperror = false;
    std::string failed_domain;       // whose _dmarc lookup failed temporarily
};

// The organizational domain a tree walk determines (RFC 9989 4.10.2).
std::string organizational_domain_of(const TreeWalk& walk);

// TXT lookups of one evaluation, each name asked once, so that the walks of the author domain
// and of the identifiers share their answers. One per evaluation: not shared between threads.
class WalkLookups {
public:
    explicit WalkLookups(dns::Resolver& resolver) : resolver_(resolver) {}

    const dns::Answer& txt(const std::string& name);
    TreeWalk walk(std::string_view domain);
    // RFC 9989 3.2.13: a domain exists unless it is NXDOMAIN; nullopt on a temporary failure.
    std::optional<bool> exists(const std::string& domain);

private:
    dns::Resolver& resolver_;
    std::map<std::string, dns::Answer> answers_;
};

class DmarcEngine {
public:
    DmarcEngine(dns::Resolver& resolver, const DmarcOptions& options);
    ~DmarcEngine();
    DmarcEngine(const DmarcEngine&) = delete;
    DmarcEngine& operator=(const DmarcEngine&) = delete;

    DmarcOutcome evaluate(const AuthorDomains& author, const SpfOutcome& spf,
                          const std::vector<DkimSignatureOutcome>& dkim,
                          std::string_view sampling_key) const;

    // Lowercased, trailing dot removed; "" for a public suffix or a name the PSL rejects.
    std::string organizational_domain(std::string_view domain) const;
    bool is_public_suffix(std::string_view domain) const;

private:
    struct Psl;
    std::unique_ptr<Psl> psl_;
    dns::Resolver& resolver_;
    bool tree_walk_;

    struct Discovery;
    struct Alignment;
    Discovery discover_rfc7489(const std::string& from_domain) const;
    Discovery discover_rfc9989(const std::string& from_domain, WalkLookups& lookups) const;
    Alignment align(const SpfOutcome& spf, const std::vector<DkimSignatureOutcome>& dkim,
                    const Discovery& discovery, const DmarcRecord& record,
                    WalkLookups& lookups) const;
    std::optional<bool> aligned(const std::string& domain, const Discovery& discovery,
                                bool strict, WalkLookups& lookups) const;
    bool aligned_by_psl(const std::string& domain, const std::string& from_domain) const;
};

}  // namespace relaygate::auth::detail
