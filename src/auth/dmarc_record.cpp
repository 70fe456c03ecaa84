// DMARC record parsing with libopendmarc: each tag is first checked against the literals of
// RFC 9989 4.7 (libopendmarc reads "p=r" as reject, "adkim=strict" as s and "pct=abc" as 0)
// and tried on its own, so that an invalid one is discarded as RFC 7489 6.3 and RFC 9989 4.7
// ask instead of failing the whole record. The RFC 9989 tags libopendmarc does not know
// (np=, t=, psd=) are read here.
#include <cctype>
#include <cstdint>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/dmarc_engine.hpp"

// dmarc.h includes <resolv.h>, whose nameser_compat macros (NOERROR, QUERY ...) must not leak
// into other files: it is included in this file only.
#include <opendmarc/dmarc.h>

namespace relaygate::auth::detail {

namespace {

// pct is 0..100 written with at most three digits (RFC 7489 6.3).
constexpr std::size_t kMaxPctDigits = 3;
constexpr int kMaxPct = 100;
// FNV-1a, 64 bits.
constexpr std::uint64_t kFnvOffsetBasis = 14695981039346656037ULL;
constexpr std::uint64_t kFnvPrime = 1099511628211ULL;

struct Tag {
    std::string name;   // lowercase
    std::string value;
};

std::string trim(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
        text.remove_prefix(1);
    }
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
        text.remove_suffix(1);
    }
    return std::string(text);
}

std::string lowercase(std::string text) {
    for (char& c : text) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return text;
}

std::vector<Tag> split_tags(std::string_view text) {
    std::vector<Tag> tags;
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t end = text.find(';', start);
        std::string_view piece = text.substr(start, end == text.npos ? text.npos : end - start);
        start = end == text.npos ? text.size() + 1 : end + 1;
        std::size_t equals = piece.find('=');
        if (equals == std::string_view::npos) {
            continue;
        }
        tags.push_back({lowercase(trim(piece.substr(0, equals))), trim(piece.substr(equals + 1))});
    }
    return tags;
}

// Case-insensitive match with one of the literal words an ABNF rule allows (RFC 7405: quoted
// strings in ABNF are case-insensitive).
bool is_one_of(std::string_view value, std::initializer_list<std::string_view> words) {
    std::string lower = lowercase(std::string(value));
    for (std::string_view word : words) {
        if (lower == word) {
            return true;
        }
    }
    return false;
}

bool is_policy_word(std::string_view value) {
    return is_one_of(value, {"none", "quarantine", "reject"});
}

// The value of the first tag with this name, if any.
std::optional<std::string> first_tag(const std::vector<Tag>& tags, std::string_view name) {
    for (const Tag& tag : tags) {
        if (tag.name == name) {
            return tag.value;
        }
    }
    return std::nullopt;
}

// libopendmarc's global state is set up once for the process; its PSL table is not used.
void initialise_library() {
    static std::once_flag once;
    std::call_once(once, [] {
        OPENDMARC_LIB_T settings{};
        settings.tld_type = OPENDMARC_TLD_TYPE_NONE;
        opendmarc_policy_library_init(&settings);
    });
}

struct PolicyContext {
    DMARC_POLICY_T* handle;
    PolicyContext() {
        static char any_address[] = "192.0.2.1";
        handle = opendmarc_policy_connect_init(reinterpret_cast<u_char*>(any_address), 0);
    }
    ~PolicyContext() {
        if (handle != nullptr) {
            opendmarc_policy_connect_shutdown(handle);
        }
    }
    PolicyContext(const PolicyContext&) = delete;
    PolicyContext& operator=(const PolicyContext&) = delete;
};

u_char* writable(std::string& text) { return reinterpret_cast<u_char*>(text.data()); }

// Whether libopendmarc accepts this record text.
bool accepted(std::string record, std::string domain) {
    PolicyContext context;
    return context.handle != nullptr &&
           opendmarc_policy_store_dmarc(context.handle, writable(record), writable(domain),
                                        nullptr) == DMARC_PARSE_OKAY;
}

bool valid_pct(std::string_view value) {
    if (value.empty() || value.size() > kMaxPctDigits) {
        return false;
    }
    for (char c : value) {
        if (!std::isdigit(static_cast<unsigned char>(c))) {
            return false;
        }
    }
    return std::stoi(std::string(value)) <= kMaxPct;
}

bool has_mailto_uri(const std::vector<Tag>& tags) {
    for (const Tag& tag : tags) {
        if (tag.name == "rua" && lowercase(tag.value).find("mailto:") != std::string::npos) {
            return true;
        }
    }
    return false;
}

std::string policy_word(int code) {
    switch (code) {
    case DMARC_RECORD_P_NONE:
        return "none";
    case DMARC_RECORD_P_QUARANTINE:
        return "quarantine";
    case DMARC_RECORD_P_REJECT:
        return "reject";
    default:
        return "";
    }
}

// The record text libopendmarc will read: v=DMARC1, a usable p= and sp=, and each other tag
// it accepts on its own; np= is checked here (libopendmarc does not know it) and kept in np.
// What was dropped or assumed goes into note.
std::optional<std::string> usable_record(const std::vector<Tag>& tags, const std::string& domain,
                                         std::string& np, std::string& note,
                                         std::string& problem) {
    const std::string base = "v=DMARC1; ";
    std::string p;
    std::string sp;
    std::optional<std::string> np_value = first_tag(tags, "np");
    std::optional<std::string> sp_value = first_tag(tags, "sp");
    for (const Tag& tag : tags) {
        if (tag.name == "p" && p.empty() && is_policy_word(tag.value) &&
            accepted(base + "p=" + tag.value, domain)) {
            p = tag.value;
        }
    }
    bool sp_invalid = sp_value && !(is_policy_word(*sp_value) &&
                                    accepted(base + "p=none; sp=" + *sp_value, domain));
    bool np_invalid = np_value && !is_policy_word(*np_value);
    sp = sp_value && !sp_invalid ? *sp_value : "";
    np = np_value && !np_invalid ? lowercase(*np_value) : "";
    if (p.empty() || sp_invalid || np_invalid) {
        // RFC 7489 6.6.3, RFC 9989 4.10.1: without a valid p= (or with an invalid sp= or np=),
        // a record with a reporting address counts as p=none; without one, DMARC processing
        // does not apply.
        if (!has_mailto_uri(tags)) {
            problem = p.empty() ? "record has no valid p= tag and no rua="
                                : "record has an invalid " +
                                      std::string(sp_invalid ? "sp=" : "np=") +
                                      " tag and no rua=";
            return std::nullopt;
        }
        note = "no valid p=, sp= or np=: treated as p=none (RFC 9989 4.10.1)";
        p = "none";
        sp.clear();
        np.clear();
    }

    std::string record = base + "p=" + p + (sp.empty() ? "" : "; sp=" + sp);
    for (const Tag& tag : tags) {
        if (tag.name == "v" || tag.name == "p" || tag.name == "sp" || tag.name == "np" ||
            tag.name == "t" || tag.name == "psd") {
            continue;
        }
        std::string candidate = "; " + tag.name + "=" + tag.value;
        bool ok = true;
        if (tag.name == "pct") {
            ok = valid_pct(tag.value);
        } else if (tag.name == "adkim" || tag.name == "aspf") {
            ok = is_one_of(tag.value, {"r", "s"});
        }
        if (ok && accepted(base + "p=none" + candidate, domain)) {
            record += candidate;
        } else {
            note += std::string(note.empty() ? "" : "; ") + "invalid " + tag.name + "= ignored";
        }
    }
    return record;
}

// t= (RFC 9989 4.7): y or n; anything else is discarded.
std::optional<bool> testing_flag(const std::vector<Tag>& tags, std::string& note) {
    std::optional<std::string> value = first_tag(tags, "t");
    if (!value) {
        return std::nullopt;
    }
    if (!is_one_of(*value, {"y", "n"})) {
        note += std::string(note.empty() ? "" : "; ") + "invalid t= ignored";
        return std::nullopt;
    }
    return lowercase(*value) == "y";
}

}  // namespace

// The first tag, v, must be exactly DMARC1 (RFC 9989 4.7: %s"DMARC1", *WSP around "=").
bool is_dmarc_record(std::string_view text) {
    std::vector<Tag> tags = split_tags(text.substr(0, text.find(';')));
    return tags.size() == 1 && tags.front().name == "v" && tags.front().value == "DMARC1";
}

char psd_flag(std::string_view text) {
    std::optional<std::string> value = first_tag(split_tags(text), "psd");
    if (!value || !is_one_of(*value, {"y", "n", "u"})) {
        return 'u';
    }
    return lowercase(*value).front();
}

// Parses one record (already known to start with v=DMARC1) through libopendmarc.
std::optional<DmarcRecord> parse_dmarc_record(std::string_view text, std::string_view domain,
                                              std::string& problem) {
    initialise_library();
    std::vector<Tag> tags = split_tags(text);
    if (tags.empty() || tags.front().name != "v" || tags.front().value != "DMARC1") {
        problem = "record does not start with v=DMARC1";
        return std::nullopt;
    }
    std::string from_domain = domain.empty() ? std::string("invalid") : std::string(domain);

    DmarcRecord record;
    std::optional<std::string> usable =
        usable_record(tags, from_domain, record.np, record.note, problem);
    if (!usable) {
        return std::nullopt;
    }
    PolicyContext context;
    if (context.handle == nullptr ||
        opendmarc_policy_store_dmarc(context.handle, writable(*usable), writable(from_domain),
                                     nullptr) != DMARC_PARSE_OKAY) {
        problem = "record cannot be parsed";
        return std::nullopt;
    }

    int p = 0;
    int sp = 0;
    int adkim = 0;
    int aspf = 0;
    int pct = kMaxPct;
    opendmarc_policy_fetch_p(context.handle, &p);
    opendmarc_policy_fetch_sp(context.handle, &sp);
    opendmarc_policy_fetch_adkim(context.handle, &adkim);
    opendmarc_policy_fetch_aspf(context.handle, &aspf);
    opendmarc_policy_fetch_pct(context.handle, &pct);
    record.p = policy_word(p);
    record.sp = policy_word(sp);
    record.strict_dkim = adkim == DMARC_RECORD_A_STRICT;
    record.strict_spf = aspf == DMARC_RECORD_A_STRICT;
    record.pct = pct;
    record.pct_given = usable->find("; pct=") != std::string::npos;
    record.testing = testing_flag(tags, record.note);
    record.psd = psd_flag(text);
    record.rua = first_tag(tags, "rua").value_or("");
    return record;
}

// FNV-1a of the key, reduced to 0..99: stable across runs, builds and machines.
bool selected_by_pct(std::string_view sampling_key, int pct) {
    if (pct >= kMaxPct) {
        return true;
    }
    if (pct <= 0) {
        return false;
    }
    std::uint64_t hash = kFnvOffsetBasis;
    for (char c : sampling_key) {
        hash ^= static_cast<unsigned char>(c);
        hash *= kFnvPrime;
    }
    return static_cast<int>(hash % kMaxPct) < pct;
}

}  // namespace relaygate::auth::detail
