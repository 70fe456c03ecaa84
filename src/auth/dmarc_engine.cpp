// DMARC (RFC 7489) evaluation: record discovery through dns::Resolver, organizational domains
// and alignment with libpsl, record parsing with libopendmarc (dmarc_record.cpp), and pct=
// sampling; see dmarc_engine.hpp for why libopendmarc's own alignment is not used.
#include "auth/dmarc_engine.hpp"

#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <libpsl.h>

namespace relaygate::auth::detail {

namespace {

// RFC 1035 2.3.4 limits.
constexpr std::size_t kMaxDomainLength = 253;
constexpr std::size_t kMaxLabelLength = 63;

std::string normalize(std::string_view domain) {
    std::string out(domain);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    if (!out.empty() && out.back() == '.') {
        out.pop_back();
    }
    return out;
}

// A host name: labels of letters, digits, "-" and "_" (or UTF-8), none empty or too long.
bool is_domain_name(std::string_view domain) {
    if (domain.empty() || domain.size() > kMaxDomainLength) {
        return false;
    }
    std::size_t label = 0;
    for (char c : domain) {
        auto byte = static_cast<unsigned char>(c);
        if (c == '.') {
            if (label == 0) {
                return false;
            }
            label = 0;
            continue;
        }
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                  byte >= 0x80;
        if (!ok || ++label > kMaxLabelLength) {
            return false;
        }
    }
    return label > 0;
}

// RFC 7489 6.6.3 step 4: only records starting with a v=DMARC1 tag count.
bool is_dmarc_record(std::string_view text) {
    std::size_t semicolon = text.find(';');
    std::string_view first = text.substr(0, semicolon);
    std::size_t equals = first.find('=');
    if (equals == std::string_view::npos) {
        return false;
    }
    auto trim = [](std::string_view s) {
        while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
            s.remove_prefix(1);
        }
        while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
            s.remove_suffix(1);
        }
        return s;
    };
    std::string_view name = trim(first.substr(0, equals));
    return (name == "v" || name == "V") && trim(first.substr(equals + 1)) == "DMARC1";
}

// RFC 7489 6.6.4: a message outside the pct= sample gets the next less strict policy.
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
    std::string record;
    std::string domain;  // where the record was (or was last looked for)
};

DmarcEngine::DmarcEngine(dns::Resolver& resolver, const std::string& public_suffix_file)
    : psl_(std::make_unique<Psl>(public_suffix_file.empty() ? RELAYGATE_PSL_FILE
                                                            : public_suffix_file)),
      resolver_(resolver) {}

DmarcEngine::~DmarcEngine() = default;

std::string DmarcEngine::organizational_domain(std::string_view domain) const {
    std::string name = normalize(domain);
    if (name.empty()) {
        return {};
    }
    const char* registrable = psl_registrable_domain(psl_->context, name.c_str());
    return registrable != nullptr ? std::string(registrable) : std::string();
}

bool DmarcEngine::is_public_suffix(std::string_view domain) const {
    std::string name = normalize(domain);
    return !name.empty() && psl_is_public_suffix(psl_->context, name.c_str()) != 0;
}

// A public-suffix domain never aligns: libopendmarc would let d=co.uk align with example.co.uk.
bool DmarcEngine::aligned(const std::string& domain, const std::string& from_domain,
                          bool strict) const {
    std::string name = normalize(domain);
    if (name.empty() || is_public_suffix(name)) {
        return false;
    }
    if (strict) {
        return name == from_domain;
    }
    std::string organization = organizational_domain(name);
    return !organization.empty() && organization == organizational_domain(from_domain);
}

// RFC 7489 6.6.3: _dmarc.<From domain>, then _dmarc.<organizational domain>.
// TODO: The RFC 9989 (DMARCbis) DNS tree walk and its psd= and np= tags are not implemented:
// discovery and organizational domains follow RFC 7489 with the PSL, the model libopendmarc
// and the rspamd fixtures use; the mailauth-rfc9989 cases are therefore not run.
DmarcEngine::Discovery DmarcEngine::discover(const std::string& from_domain,
                                             const std::string& org_domain) const {
    Discovery discovery;
    std::vector<std::string> candidates = {from_domain};
    if (!org_domain.empty() && org_domain != from_domain) {
        candidates.push_back(org_domain);
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
        std::string name = normalize(domain);
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

DmarcOutcome DmarcEngine::evaluate(const AuthorDomains& author, const SpfOutcome& spf,
                                   const std::vector<DkimSignatureOutcome>& dkim,
                                   std::string_view sampling_key) const {
    DmarcOutcome outcome;
    if (!check_author(author, outcome)) {
        return outcome;
    }
    const std::string& from_domain = outcome.domain;

    Discovery discovery = discover(from_domain, organizational_domain(from_domain));
    outcome.record_domain = discovery.domain;
    switch (discovery.status) {
    case Discovery::Status::temperror:
        outcome.result = "temperror";
        outcome.reason = "dns temporary failure looking up _dmarc." + discovery.domain;
        return outcome;
    case Discovery::Status::several:
        outcome.reason = "several DMARC records at _dmarc." + discovery.domain;
        return outcome;
    case Discovery::Status::none:
        outcome.record_domain.clear();
        outcome.reason = "no DMARC record";
        return outcome;
    case Discovery::Status::found:
        break;
    }

    std::string problem;
    std::optional<DmarcRecord> record = parse_dmarc_record(discovery.record, from_domain, problem);
    if (!record) {
        outcome.result = "permerror";
        outcome.reason = "DMARC record at _dmarc." + discovery.domain + ": " + problem;
        return outcome;
    }

    std::string aligned_by;
    for (const DkimSignatureOutcome& signature : dkim) {
        if (signature.result == "pass" &&
            aligned(signature.domain, from_domain, record->strict_dkim)) {
            outcome.aligned_dkim = true;
            aligned_by = "dkim d=" + normalize(signature.domain);
            break;
        }
    }
    outcome.aligned_spf = spf.result == "pass" &&
                          aligned(spf.domain, from_domain, record->strict_spf);
    if (aligned_by.empty() && outcome.aligned_spf) {
        aligned_by = "spf " + normalize(spf.domain);
    }

    // sp= applies to a subdomain whose policy came from its organizational domain.
    bool inherited = discovery.domain != from_domain;
    outcome.policy = inherited && !record->sp.empty() ? record->sp : record->p;
    bool pass = outcome.aligned_dkim || outcome.aligned_spf;
    outcome.result = pass ? "pass" : "fail";
    if (pass) {
        outcome.disposition = "none";
    } else {
        outcome.disposition = selected_by_pct(sampling_key, record->pct)
                                  ? outcome.policy
                                  : downgrade(outcome.policy);
    }
    outcome.reason = pass ? "aligned " + aligned_by : "no aligned dkim or spf pass";
    if (!record->note.empty()) {
        outcome.reason += "; " + record->note;
    }
    return outcome;
}

}  // namespace relaygate::auth::detail
