// The DMARC adapter behind DmarcEvaluator, on author domains already read from the From field,
// so that it can be tested without the message module.
//
// Which parts of libopendmarc are kept, and why: only its record parser
// (opendmarc_policy_store_dmarc and the fetch_* accessors), which reads p, sp, adkim, aspf and
// pct as RFC 7489 says. Record discovery goes through our dns::Resolver (its own does res_ninit
// per query and its fake-DNS list is an unlocked global). Alignment, organizational domains and
// the policy to apply are computed here with libpsl, because libopendmarc lets a public-suffix
// d= align, finds no organizational domain under TLDs absent from the PSL (.test), reads "*."
// rules as plain ones, compares case-sensitively, and ignores pct= (DEPENDENCIES.md 5).
#pragma once

#include <cstddef>
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

// A DMARC record as parsed by libopendmarc, after discarding invalid tags (RFC 7489 6.3).
struct DmarcRecord {
    std::string p;        // none | quarantine | reject
    std::string sp;       // "" when absent
    bool strict_dkim = false;
    bool strict_spf = false;
    int pct = 100;
    std::string note;     // what was discarded or assumed, "" when nothing
};

// Parses the text of one v=DMARC1 record; nullopt (problem set) when it is not usable.
std::optional<DmarcRecord> parse_dmarc_record(std::string_view text, std::string_view domain,
                                              std::string& problem);

// pct= sampling (RFC 7489 6.6.4), deterministic: the same key always gives the same answer.
bool selected_by_pct(std::string_view sampling_key, int pct);

class DmarcEngine {
public:
    DmarcEngine(dns::Resolver& resolver, const std::string& public_suffix_file);
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

    struct Discovery;
    Discovery discover(const std::string& from_domain, const std::string& org_domain) const;
    bool aligned(const std::string& domain, const std::string& from_domain, bool strict) const;
};

}  // namespace relaygate::auth::detail
