// DMARC evaluation: record discovery through dns::Resolver, either by the RFC 9989 tree walk
// (dmarc_treewalk.cpp) or as RFC 7489 with the public suffix list (libpsl); alignment; the
// policy that applies (p=, sp= or np=) and what it asks for this message (t=, historic pct=).
// Record parsing is in dmarc_record.cpp; see dmarc_engine.hpp for why libopendmarc's own
// alignment is not used.
#include "auth/dmarc_engine.hpp"

#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <libpsl.h>

namespace relaygate::auth::detail {

namespace {

// Identifier domains walked per message for relaxed alignment (each walk is at most 8
// lookups): a message carries one SPF identity and the DKIM module verifies at most a few
// signatures, so more means a hostile message.
constexpr std::size_t kMaxAlignmentWalks = 12;
// pct= of every message: the policy applies as published.
constexpr int kWholeSample = 100;

// The next less strict policy: RFC 7489 6.6.4 outside the pct= sample, RFC 9989 4.7 for t=y.
std::string downgrade(const std::string& policy) {
    if (policy == "reject") {
        return "quarantine";
    }
    return "none";
}

std::string join(const std::set<std::string>& words) {
    std::string out;
    for (const std::string& word : words) {
        out += (out.empty() ? "" : ", ") + word;
    }
    return out;
}

// The longest run of whole labels both names end with ("a.example.com", "b.example.com" →
// "example.com"); "" when even the last label differs.
std::string common_suffix(const std::string& a, const std::string& b) {
    const std::string dotted_a = "." + a;
    const std::string dotted_b = "." + b;
    std::size_t length = 0;
    std::size_t whole_labels = 0;
    while (length < dotted_a.size() && length < dotted_b.size() &&
           dotted_a[dotted_a.size() - 1 - length] == dotted_b[dotted_b.size() - 1 - length]) {
        ++length;
        if (dotted_a[dotted_a.size() - length] == '.') {
            whole_labels = length - 1;
        }
    }
    return a.substr(a.size() - whole_labels);
}

// Appends one more clause to a one-line reason.
void add_note(std::string& text, const std::string& note) {
    if (note.empty()) {
        return;
    }
    text += (text.empty() ? "" : "; ") + note;
}

// The policy tag that applies to the From domain, and its value.
struct PolicyChoice {
    std::string tag;    // p | sp | np
    std::string value;  // none | quarantine | reject
    bool temperror = false;
};

// RFC 9989 4.10.1: p= for the record's own domain; for a subdomain sp=, or np= when the
// From domain does not exist (p= when they are absent). Existence is asked only when np=
// would change the answer.
PolicyChoice choose_policy(const std::string& from_domain, const std::string& record_domain,
                           const DmarcRecord& record, WalkLookups& lookups) {
    if (from_domain == record_domain) {
        return {"p", record.p};
    }
    PolicyChoice subdomain = record.sp.empty() ? PolicyChoice{"p", record.p}
                                               : PolicyChoice{"sp", record.sp};
    if (record.np.empty() || record.np == subdomain.value) {
        return subdomain;
    }
    std::optional<bool> exists = lookups.exists(from_domain);
    if (!exists) {
        PolicyChoice failed = subdomain;
        failed.temperror = true;
        return failed;
    }
    return *exists ? subdomain : PolicyChoice{"np", record.np};
}

// What the policy asks for a failing message: t= when published (RFC 9989), else the
// historic pct= (RFC 7489 6.6.4; pct=0 is what t=y replaces), else the policy itself.
std::string disposition_for_failure(const DmarcRecord& record, const std::string& policy,
                                    std::string_view sampling_key, std::string& note) {
    if (record.testing) {
        if (*record.testing && policy != "none") {
            note = "t=y: one level below " + policy;
            return downgrade(policy);
        }
        return policy;
    }
    if (record.pct_given && record.pct < kWholeSample) {
        bool sampled = selected_by_pct(sampling_key, record.pct);
        note = "pct=" + std::to_string(record.pct) + (sampled ? ": sampled" : ": not sampled");
        return sampled ? policy : downgrade(policy);
    }
    return policy;
}

}  // namespace

struct DmarcEngine::Psl {
    psl_ctx_t* context = nullptr;
    explicit Psl(const std::string& file) : context(psl_load_file(file.c_str())) {
        if (context == nullptr) {
            throw std::runtime_error("cannot load public suffix list " + file);
        }
    }
    ~Psl() { psl_free(context); }
    Psl(const Psl&) = delete;
    Psl& operator=(const Psl&) = delete;
};

struct DmarcEngine::Discovery {
    enum class Status { found, none, several, temperror } status = Status::none;
    std::string from_domain;
    std::string record;
    std::string domain;      // where the record was (or the lookup that failed)
    std::string org_domain;  // of the From domain; "" when a lookup for it failed
    std::string org_failed;  // that lookup
    std::string note;        // records the walk discarded
};

struct DmarcEngine::Alignment {
    bool dkim = false;
    bool spf = false;
    bool temperror = false;  // an identifier's alignment could not be decided
    std::string by;          // which identifier aligned
    std::string note;
};

DmarcEngine::DmarcEngine(dns::Resolver& resolver, const DmarcOptions& options)
    : psl_(std::make_unique<Psl>(options.public_suffix_file.empty() ? RELAYGATE_PSL_FILE
                                                                    : options.public_suffix_file)),
      resolver_(resolver),
      tree_walk_(options.tree_walk) {}

DmarcEngine::~DmarcEngine() = default;

std::string DmarcEngine::organizational_domain(std::string_view domain) const {
    std::string name = normalize_domain(domain);
    if (name.empty()) {
        return {};
    }
    const char* registrable = psl_registrable_domain(psl_->context, name.c_str());
    return registrable != nullptr ? std::string(registrable) : std::string();
}

bool DmarcEngine::is_public_suffix(std::string_view domain) const {
    std::string name = normalize_domain(domain);
    return !name.empty() && psl_is_public_suffix(psl_->context, name.c_str()) != 0;
}

// RFC 7489 relaxed alignment: the same PSL organizational domain.
bool DmarcEngine::aligned_by_psl(const std::string& domain,
                                 const std::string& from_domain) const {
    std::string organization = organizational_domain(domain);
    return !organization.empty() && organization == organizational_domain(from_domain);
}

// Whether an authenticated domain aligns with the From domain; nullopt when a lookup needed
// to decide failed. A public-suffix domain never aligns, whatever libopendmarc or a record
// published at a public suffix without psd=y says; in RFC 9989 mode relaxed alignment needs
// the same tree-walk organizational domain.
std::optional<bool> DmarcEngine::aligned(const std::string& domain, const Discovery& discovery,
                                         bool strict, WalkLookups& lookups) const {
    const std::string& from_domain = discovery.from_domain;
    std::string name = normalize_domain(domain);
    if (!is_domain_name(name) || is_public_suffix(name)) {
        return false;
    }
    if (name == from_domain || strict) {
        return name == from_domain;
    }
    if (!tree_walk_) {
        return aligned_by_psl(name, from_domain);
    }

    // Both organizational domains are ancestors of both names: one that is a public suffix
    // would let unrelated registrants align (RFC 9989 "Relaxed Alignment Considerations").
    std::string shared = common_suffix(name, from_domain);
    if (shared.empty() || is_public_suffix(shared)) {
        return false;
    }
    if (discovery.org_domain.empty()) {
        return std::nullopt;
    }
    TreeWalk walk = lookups.walk(name);
    if (walk.temperror) {
        return std::nullopt;
    }
    std::string organization = organizational_domain_of(walk);
    return organization == discovery.org_domain && !is_public_suffix(organization);
}

// Every passing DKIM signature, then the SPF identity; the first that aligns decides.
DmarcEngine::Alignment DmarcEngine::align(const SpfOutcome& spf,
                                          const std::vector<DkimSignatureOutcome>& dkim,
                                          const Discovery& discovery, const DmarcRecord& record,
                                          WalkLookups& lookups) const {
    Alignment alignment;
    std::size_t checked = 0;
    auto check = [&](const std::string& domain, bool strict) {
        if (checked == kMaxAlignmentWalks) {
            alignment.note = "more than " + std::to_string(kMaxAlignmentWalks) +
                             " authenticated identifiers: the rest not checked";
            return false;
        }
        ++checked;
        std::optional<bool> ok = aligned(domain, discovery, strict, lookups);
        alignment.temperror = alignment.temperror || !ok;
        return ok.value_or(false);
    };
    for (const DkimSignatureOutcome& signature : dkim) {
        if (signature.result == "pass" && check(signature.domain, record.strict_dkim)) {
            alignment.dkim = true;
            alignment.by = "dkim d=" + normalize_domain(signature.domain);
            break;
        }
    }
    alignment.spf = spf.result == "pass" && check(spf.domain, record.strict_spf);
    if (alignment.by.empty() && alignment.spf) {
        alignment.by = "spf " + normalize_domain(spf.domain);
    }
    return alignment;
}

// RFC 7489 6.6.3: _dmarc.<From domain>, then _dmarc.<PSL organizational domain>.
DmarcEngine::Discovery DmarcEngine::discover_rfc7489(const std::string& from_domain) const {
    Discovery discovery;
    discovery.from_domain = from_domain;
    discovery.org_domain = organizational_domain(from_domain);
    std::vector<std::string> candidates = {from_domain};
    if (!discovery.org_domain.empty() && discovery.org_domain != from_domain) {
        candidates.push_back(discovery.org_domain);
    }
    for (const std::string& domain : candidates) {
        discovery.domain = domain;
        dns::Answer answer = resolver_.lookup("_dmarc." + domain, dns::RecordType::txt);
        if (answer.outcome == dns::Outcome::temperror) {
            discovery.status = Discovery::Status::temperror;
            return discovery;
        }
        std::vector<std::string> records;
        for (const std::string& record : answer.records) {
            if (is_dmarc_record(record)) {
                records.push_back(record);
            }
        }
        if (records.size() > 1) {
            discovery.status = Discovery::Status::several;
            return discovery;
        }
        if (records.size() == 1) {
            discovery.status = Discovery::Status::found;
            discovery.record = records.front();
            return discovery;
        }
    }
    discovery.status = Discovery::Status::none;
    return discovery;
}

// RFC 9989 4.10.1: the record of the From domain, else of its organizational domain, else of
// its public suffix domain (a psd=y record), all from one tree walk.
DmarcEngine::Discovery DmarcEngine::discover_rfc9989(const std::string& from_domain,
                                                     WalkLookups& lookups) const {
    Discovery discovery;
    discovery.from_domain = from_domain;
    TreeWalk walk = lookups.walk(from_domain);
    const WalkStep* own = !walk.steps.empty() && walk.steps.front().has_record()
                              ? &walk.steps.front()
                              : nullptr;
    if (walk.temperror) {
        // The From domain's own record still applies; only relaxed alignment needs the rest.
        discovery.status = own != nullptr ? Discovery::Status::found
                                          : Discovery::Status::temperror;
        discovery.domain = own != nullptr ? from_domain : walk.failed_domain;
        discovery.record = own != nullptr ? own->record : "";
        discovery.org_failed = "_dmarc." + walk.failed_domain + " failed";
        return discovery;
    }
    discovery.org_domain = organizational_domain_of(walk);

    const WalkStep* chosen = own;
    for (const WalkStep& step : walk.steps) {
        if (step.dmarc_records > 1) {
            add_note(discovery.note, "several DMARC records at _dmarc." + step.domain +
                                         " ignored");
        }
        if (chosen == nullptr && step.has_record() && step.domain == discovery.org_domain) {
            chosen = &step;
        }
    }
    for (const WalkStep& step : walk.steps) {
        if (chosen == nullptr && step.has_record() && psd_flag(step.record) == 'y') {
            chosen = &step;
        }
    }
    if (chosen == nullptr) {
        discovery.status = Discovery::Status::none;
        return discovery;
    }
    discovery.status = Discovery::Status::found;
    discovery.domain = chosen->domain;
    discovery.record = chosen->record;
    return discovery;
}

// RFC 7489 6.6.1: exactly one From field naming exactly one valid author domain.
static bool check_author(const AuthorDomains& author, DmarcOutcome& outcome) {
    outcome.result = "permerror";
    if (author.from_fields != 1) {
        outcome.reason = author.from_fields == 0
                             ? "message has no From field"
                             : "message has " + std::to_string(author.from_fields) +
                                   " From fields";
        return false;
    }
    if (!author.parsed) {
        outcome.reason = "From field cannot be parsed: " + author.problem;
        return false;
    }
    if (author.domains.empty()) {
        outcome.reason = "From field has no address";
        return false;
    }
    std::set<std::string> domains;
    for (const std::string& domain : author.domains) {
        // TODO: A U-label From domain is looked up as raw UTF-8; RFC 9989 5.3.1 asks for its
        // A-label, which needs an IDNA library this adapter does not link yet. Tolerated
        // because such a lookup finds no record (result none), never a wrong pass.
        std::string name = normalize_domain(domain);
        if (!is_domain_name(name)) {
            outcome.reason = "From domain is not a valid domain name: \"" + domain + "\"";
            return false;
        }
        domains.insert(name);
    }
    if (domains.size() > 1) {
        // CVE-2019-16378: evaluating only the first domain lets the others be spoofed.
        outcome.reason = "From field has addresses in several domains: " + join(domains);
        return false;
    }
    outcome.domain = *domains.begin();
    outcome.result = "none";
    return true;
}

// The outcome of a discovery that found no record to apply.
static void report_no_record(bool temperror, bool several, const std::string& note,
                             DmarcOutcome& outcome) {
    if (temperror) {
        outcome.result = "temperror";
        outcome.reason = "dns temporary failure looking up _dmarc." + outcome.record_domain;
    } else if (several) {
        outcome.reason = "several DMARC records at _dmarc." + outcome.record_domain;
    } else {
        outcome.record_domain.clear();
        outcome.reason = "no DMARC record";
        add_note(outcome.reason, note);
    }
}

DmarcOutcome DmarcEngine::evaluate(const AuthorDomains& author, const SpfOutcome& spf,
                                   const std::vector<DkimSignatureOutcome>& dkim,
                                   std::string_view sampling_key) const {
    DmarcOutcome outcome;
    if (!check_author(author, outcome)) {
        return outcome;
    }
    const std::string from_domain = outcome.domain;

    WalkLookups lookups(resolver_);
    Discovery discovery =
        tree_walk_ ? discover_rfc9989(from_domain, lookups) : discover_rfc7489(from_domain);
    outcome.record_domain = discovery.domain;
    outcome.organizational_domain = discovery.org_domain;
    if (discovery.status != Discovery::Status::found) {
        report_no_record(discovery.status == Discovery::Status::temperror,
                         discovery.status == Discovery::Status::several, discovery.note,
                         outcome);
        return outcome;
    }

    std::string problem;
    std::optional<DmarcRecord> record = parse_dmarc_record(discovery.record, from_domain, problem);
    if (!record) {
        // RFC 7489 6.6.3, RFC 9989 4.10.1: such a record means no DMARC processing.
        outcome.reason = "DMARC record at _dmarc." + discovery.domain + " not applied: " + problem;
        return outcome;
    }

    Alignment alignment = align(spf, dkim, discovery, *record, lookups);
    outcome.aligned_dkim = alignment.dkim;
    outcome.aligned_spf = alignment.spf;
    bool pass = alignment.dkim || alignment.spf;
    PolicyChoice policy = choose_policy(from_domain, discovery.domain, *record, lookups);
    outcome.policy = policy.value;
    std::string policy_text = policy.tag + "=" + policy.value + " of _dmarc." + discovery.domain;

    if (!pass && (alignment.temperror || policy.temperror)) {
        outcome.result = "temperror";
        outcome.reason = alignment.temperror
                             ? "dns temporary failure finding an organizational domain"
                             : "dns temporary failure checking that " + from_domain + " exists";
        add_note(outcome.reason, discovery.org_failed);
        return outcome;
    }
    outcome.result = pass ? "pass" : "fail";
    std::string testing_note;
    outcome.disposition =
        pass ? "none"
             : disposition_for_failure(*record, policy.value, sampling_key, testing_note);

    outcome.reason = pass ? "aligned " + alignment.by : "no aligned dkim or spf pass";
    add_note(outcome.reason, policy_text);
    add_note(outcome.reason, testing_note);
    add_note(outcome.reason, alignment.note);
    add_note(outcome.reason, discovery.note);
    add_note(outcome.reason, record->note);
    return outcome;
}

}  // namespace relaygate::auth::detail
