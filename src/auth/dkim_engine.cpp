// libopendkim behind our resolver: one DKIM_LIB for every thread, keys fetched through
// dns::Resolver by the key-lookup hook, and the corrections of DEPENDENCIES.md sections 2 and 4
// applied to its per-signature results (RFC 8301, l= findings, a cap on signatures, strict
// tag lists). The library's own resolver is never reached: the key hook answers every query.
#include "auth/dkim_engine.hpp"

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <algorithm>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "auth/dkim_tags.hpp"

// dkim.h uses C's _Bool, which <stdbool.h> defines for C++; it also pulls in <sys/param.h>,
// whose function-like macros (MIN, MAX, isset ...) are why it comes after the C++ headers.
#include <stdbool.h>
#include <opendkim/dkim.h>

namespace relaygate::auth::detail {

namespace {

// Authentication-Results shows this many characters of b= (RFC 6008).
constexpr std::size_t kHeaderBLength = 8;
// A DNS name is at most 253 characters; longer key names cannot exist.
constexpr std::size_t kMaxDnsNameLength = 253;
// Long enough for any i= identity (local-part 64 + "@" + domain 253).
constexpr std::size_t kIdentityBufferSize = 1024;
// DKIM-Signature fields handed to libopendkim at most (or max_signatures, if larger). The
// library sets up hashing state for every field it is given, ignored or not, so a message
// with thousands of them would cost thousands of hashes; the fields past this count are
// reported as "signature limit" without reaching it. A signature that signed one of them
// then fails, which is acceptable for a message this abnormal.
constexpr std::size_t kMaxSignatureFieldsFed = 64;

constexpr std::string_view kSignatureFieldName = "dkim-signature";
constexpr const char* kRequiredSignatureTags[] = {"v", "a", "b", "bh", "d", "h", "s"};

std::string lowercase(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

std::string_view field_name(std::string_view field) {
    std::size_t colon = field.find(':');
    if (colon == std::string_view::npos) {
        return {};
    }
    std::string_view name = field.substr(0, colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) {
        name.remove_suffix(1);
    }
    return name;
}

// A problem libopendkim met while fetching a key, which its own status cannot express.
struct KeyNote {
    std::string result;  // temperror | permerror
    std::string reason;
};

struct SignatureField {
    TagList tags;
    std::string b_value;  // whitespace removed, to find the field's DKIM_SIGINFO
    DkimSignatureOutcome outcome;
    bool decided = false;  // the outcome is final before libopendkim runs
};

// What the callbacks of one verification share; it lives on the verifying thread's stack.
struct MessageContext {
    dns::Resolver* resolver = nullptr;
    std::vector<SignatureField>* signatures = nullptr;
    // b= value -> indices of the fields carrying it not yet tied to a DKIM_SIGINFO, in order.
    std::map<std::string, std::deque<std::size_t>> fields_by_b;
    std::map<const DKIM_SIGINFO*, std::size_t> signature_of;
    std::map<const DKIM_SIGINFO*, KeyNote> key_notes;
};

void decide(SignatureField& field, std::string result, std::string reason) {
    field.outcome.result = std::move(result);
    field.outcome.reason = std::move(reason);
    field.decided = true;
}

// The field of a libopendkim signature, found by its b= value (the first not yet taken).
std::optional<std::size_t> find_field(MessageContext& context, DKIM_SIGINFO* sig) {
    const u_char* b = dkim_sig_gettagvalue(sig, false, reinterpret_cast<u_char*>(
                                                           const_cast<char*>("b")));
    if (b == nullptr) {
        return std::nullopt;
    }
    auto found = context.fields_by_b.find(strip_whitespace(reinterpret_cast<const char*>(b)));
    if (found == context.fields_by_b.end() || found->second.empty()) {
        return std::nullopt;
    }
    std::size_t index = found->second.front();
    found->second.pop_front();
    return index;
}

// Prescreen hook: ties each DKIM_SIGINFO to its field and has libopendkim skip those whose
// outcome is already known (over the signature cap, malformed), so they cost no DNS query.
DKIM_CBSTAT prescreen(DKIM* dkim, DKIM_SIGINFO** sigs, int count) {
    auto* context = static_cast<MessageContext*>(dkim_get_user_context(dkim));
    if (context == nullptr) {
        return DKIM_CBSTAT_CONTINUE;
    }
    for (int i = 0; i < count; ++i) {
        std::optional<std::size_t> index = find_field(*context, sigs[i]);
        if (!index || (*context->signatures)[*index].decided) {
            dkim_sig_ignore(sigs[i]);
            continue;
        }
        context->signature_of[sigs[i]] = *index;
    }
    return DKIM_CBSTAT_CONTINUE;
}

// Of several TXT records at a key name, the first that reads as a key record.
const std::string& choose_key_record(const std::vector<std::string>& records) {
    for (const std::string& record : records) {
        TagList tags = parse_tag_list(record);
        if (tags.valid() && tags.get("p")) {
            return record;
        }
    }
    return records.front();
}

// Writes the key record for one signature into buf, or says why there is none. DNS trouble
// is noted and reported as "not found" so that libopendkim goes on with the other signatures
// (its TRYAGAIN status would abandon the whole message).
DKIM_CBSTAT fetch_key(MessageContext& context, DKIM_SIGINFO* sig, u_char* buf,
                      std::size_t buflen) {
    const u_char* selector = dkim_sig_getselector(sig);
    const u_char* domain = dkim_sig_getdomain(sig);
    if (selector == nullptr || domain == nullptr) {
        context.key_notes[sig] = {"permerror", "signature has no selector or domain"};
        return DKIM_CBSTAT_NOTFOUND;
    }
    std::string name = std::string(reinterpret_cast<const char*>(selector)) + "._domainkey." +
                       reinterpret_cast<const char*>(domain);
    if (name.size() > kMaxDnsNameLength) {
        context.key_notes[sig] = {"permerror", "key name too long"};
        return DKIM_CBSTAT_NOTFOUND;
    }

    dns::Answer answer = context.resolver->lookup(name, dns::RecordType::txt);
    if (answer.outcome == dns::Outcome::temperror) {
        context.key_notes[sig] = {"temperror", "dns temporary failure"};
        return DKIM_CBSTAT_NOTFOUND;
    }
    if (answer.outcome != dns::Outcome::found || answer.records.empty()) {
        return DKIM_CBSTAT_NOTFOUND;
    }

    const std::string& record = choose_key_record(answer.records);
    TagList tags = parse_tag_list(record);
    if (!tags.valid()) {
        context.key_notes[sig] = {"permerror", "invalid key record: " + tags.problem};
        return DKIM_CBSTAT_NOTFOUND;
    }
    if (record.size() >= buflen) {
        context.key_notes[sig] = {"permerror", "key record too large: " +
                                                   std::to_string(record.size()) + " bytes"};
        return DKIM_CBSTAT_NOTFOUND;
    }
    std::memcpy(buf, record.data(), record.size());
    buf[record.size()] = '\0';
    return DKIM_CBSTAT_CONTINUE;
}

// Key-lookup hook: no exception may cross libopendkim's C frames.
DKIM_CBSTAT lookup_key(DKIM* dkim, DKIM_SIGINFO* sig, u_char* buf, std::size_t buflen) {
    auto* context = static_cast<MessageContext*>(dkim_get_user_context(dkim));
    if (context == nullptr || context->resolver == nullptr) {
        return DKIM_CBSTAT_NOTFOUND;
    }
    try {
        return fetch_key(*context, sig, buf, buflen);
    } catch (const std::exception& error) {
        context->key_notes[sig] = {"temperror", std::string("dns lookup failed: ") + error.what()};
        return DKIM_CBSTAT_NOTFOUND;
    }
}

// The RFC 6376 3.4 canonical length of the body, to see what an l= signature leaves unsigned.
std::size_t canonical_body_length(std::string_view body, bool relaxed) {
    std::size_t length = 0;
    std::size_t pending_empty_lines = 0;
    std::size_t start = 0;
    while (start < body.size()) {
        std::size_t end = body.find("\r\n", start);
        bool terminated = end != std::string_view::npos;
        std::string_view line = body.substr(start, terminated ? end - start : body.npos);
        start = terminated ? end + 2 : body.size();

        std::size_t line_length = line.size();
        if (relaxed) {
            line_length = 0;
            bool in_space = false;
            std::size_t trailing = 0;
            for (char c : line) {
                bool space = c == ' ' || c == '\t';
                if (space && in_space) {
                    continue;
                }
                in_space = space;
                ++line_length;
                trailing = space ? trailing + 1 : 0;
            }
            line_length -= trailing;
        }
        if (line_length == 0) {
            ++pending_empty_lines;
            continue;
        }
        length += pending_empty_lines * 2 + line_length + 2;
        pending_empty_lines = 0;
    }
    // Simple canonicalization turns an empty body into one CRLF; relaxed leaves it empty.
    if (length == 0 && !relaxed) {
        return 2;
    }
    return length;
}

// Our own checks before libopendkim: the cap, tag-list syntax, required tags, algorithm.
void precheck(SignatureField& field, std::size_t ordinal, const DkimOptions& options,
              bool ed25519) {
    if (ordinal >= options.max_signatures) {
        decide(field, "policy", "signature limit");
        return;
    }
    if (!field.tags.valid()) {
        decide(field, "permerror", "malformed signature: " + field.tags.problem);
        return;
    }
    for (const char* tag : kRequiredSignatureTags) {
        if (!field.tags.get(tag) || field.tags.get(tag)->empty()) {
            decide(field, "permerror", std::string("missing required tag ") + tag + "=");
            return;
        }
    }
    std::string_view algorithm = field.outcome.algorithm;
    if (algorithm == "ed25519-sha256" && !ed25519) {
        decide(field, "permerror", "ed25519-sha256 (RFC 8463) not supported by this libopendkim");
        return;
    }
    if (algorithm != "rsa-sha256" && algorithm != "rsa-sha1" && algorithm != "ed25519-sha256") {
        decide(field, "permerror", "unsupported algorithm " + std::string(algorithm));
    }
}

// Every DKIM-Signature field, top first, with what can be read without libopendkim.
std::vector<SignatureField> collect_signatures(const std::vector<std::string>& fields) {
    std::vector<SignatureField> signatures;
    for (const std::string& field : fields) {
        if (lowercase(field_name(field)) != kSignatureFieldName) {
            continue;
        }
        SignatureField signature;
        signature.tags = parse_tag_list(std::string_view(field).substr(field.find(':') + 1));
        const TagList& tags = signature.tags;
        DkimSignatureOutcome& outcome = signature.outcome;
        outcome.domain = std::string(tags.get("d").value_or(""));
        outcome.selector = std::string(tags.get("s").value_or(""));
        outcome.algorithm = lowercase(tags.get("a").value_or(""));
        outcome.identity = std::string(tags.get("i").value_or(""));
        signature.b_value = strip_whitespace(tags.get("b").value_or(""));
        outcome.header_b = signature.b_value.substr(0, kHeaderBLength);
        signatures.push_back(std::move(signature));
    }
    return signatures;
}

std::string library_error(DKIM* dkim) {
    const char* text = dkim_geterror(dkim);
    return text != nullptr && *text != '\0' ? text : "unknown error";
}

// RFC 8601 result and one-line reason for a libopendkim signature error.
void map_signature_error(SignatureField& field, DKIM_SIGINFO* sig) {
    int error = dkim_sig_geterror(sig);
    const char* text = dkim_sig_geterrorstr(error);
    std::string detail = text != nullptr ? text : "error " + std::to_string(error);
    switch (error) {
    case DKIM_SIGERROR_BADSIG:
        decide(field, "fail", dkim_sig_getbh(sig) == DKIM_SIGBH_MISMATCH
                                  ? "body hash mismatch"
                                  : "signature verification failed");
        return;
    case DKIM_SIGERROR_NOKEY:
        decide(field, "permerror", "key not found");
        return;
    case DKIM_SIGERROR_KEYFAIL:
        decide(field, "temperror", "dns temporary failure");
        return;
    case DKIM_SIGERROR_KEYREVOKED:
        decide(field, "permerror", "key revoked");
        return;
    case DKIM_SIGERROR_UNKNOWN:
        decide(field, "permerror", "signature not verified");
        return;
    default:
        decide(field, "permerror", detail);
        return;
    }
}

// RFC 8301: rsa-sha1 and RSA keys under min_rsa_bits are not valid, whatever the maths says.
void apply_rfc8301(SignatureField& field, dkim_alg_t algorithm, const DkimOptions& options) {
    if (algorithm == DKIM_SIGN_RSASHA1 && !options.allow_rsa_sha1) {
        decide(field, "policy", "rsa-sha1 not allowed (RFC 8301)");
        return;
    }
    bool rsa = algorithm == DKIM_SIGN_RSASHA1 || algorithm == DKIM_SIGN_RSASHA256;
    if (rsa && field.outcome.key_bits < options.min_rsa_bits) {
        decide(field, "policy",
               "key too short: " + std::to_string(field.outcome.key_bits) + " bits (RFC 8301)");
    }
}

// The outcome of one signature libopendkim processed.
void read_signature(DKIM* dkim, DKIM_SIGINFO* sig, const MessageContext& context,
                    SignatureField& field, std::string_view body, const DkimOptions& options) {
    dkim_alg_t algorithm = DKIM_SIGN_UNKNOWN;
    dkim_sig_getsignalg(sig, &algorithm);
    unsigned int bits = 0;
    if (algorithm != DKIM_SIGN_ED25519SHA256 && dkim_sig_getkeysize(sig, &bits) == DKIM_STAT_OK) {
        field.outcome.key_bits = bits;
    }
    u_char identity[kIdentityBufferSize] = {};
    if (field.tags.get("i") &&
        dkim_sig_getidentity(dkim, sig, identity, sizeof identity) == DKIM_STAT_OK) {
        field.outcome.identity = reinterpret_cast<const char*>(identity);
    }
    if (auto length = field.tags.get("l")) {
        std::string_view canon = field.tags.get("c").value_or("simple/simple");
        std::size_t slash = canon.find('/');
        bool relaxed = slash != std::string_view::npos && canon.substr(slash + 1) == "relaxed";
        std::size_t total = canonical_body_length(body, relaxed);
        std::size_t signed_length = std::strtoull(std::string(*length).c_str(), nullptr, 10);
        field.outcome.unsigned_body_bytes = total > signed_length ? total - signed_length : 0;
    }

    auto note = context.key_notes.find(sig);
    if (note != context.key_notes.end()) {
        decide(field, note->second.result, note->second.reason);
        return;
    }
    if (dkim_sig_geterror(sig) == DKIM_SIGERROR_OK && DKIM_SIG_CHECK(sig)) {
        decide(field, "pass", "");
        apply_rfc8301(field, algorithm, options);
        return;
    }
    map_signature_error(field, sig);
}

struct HandleCloser {
    void operator()(DKIM* dkim) const { dkim_free(dkim); }
};

// Gives every signature not yet decided the same outcome (a message-level failure).
void decide_rest(std::vector<SignatureField>& signatures, const std::string& result,
                 const std::string& reason) {
    for (SignatureField& field : signatures) {
        if (!field.decided) {
            decide(field, result, reason);
        }
    }
}

// A status that says the run itself failed (resources), rather than the message.
bool is_resource_failure(DKIM_STAT status) {
    return status == DKIM_STAT_NORESOURCE || status == DKIM_STAT_INTERNAL ||
           status == DKIM_STAT_CBTRYAGAIN;
}

// Feeds the message to libopendkim and reads each signature it processed.
void run_library(DKIM_LIB* library, dns::Resolver& resolver,
                 const std::vector<std::string>& fields, std::string_view body,
                 std::vector<SignatureField>& signatures, const DkimOptions& options) {
    DKIM_STAT status = DKIM_STAT_OK;
    std::unique_ptr<DKIM, HandleCloser> dkim(dkim_verify(
        library, reinterpret_cast<const u_char*>("relaygate"), nullptr, &status));
    if (!dkim) {
        decide_rest(signatures, "temperror", "libopendkim: cannot start a verification");
        return;
    }
    MessageContext context;
    context.resolver = &resolver;
    context.signatures = &signatures;
    for (std::size_t i = 0; i < signatures.size(); ++i) {
        context.fields_by_b[signatures[i].b_value].push_back(i);
    }
    dkim_set_user_context(dkim.get(), &context);

    // A malformed DKIM-Signature field gives SYNTAX here; the others still count.
    std::size_t signature_fields = 0;
    std::size_t fed_limit = std::max(options.max_signatures, kMaxSignatureFieldsFed);
    for (const std::string& field : fields) {
        if (field.find(':') == std::string::npos) {
            continue;
        }
        if (lowercase(field_name(field)) == kSignatureFieldName &&
            ++signature_fields > fed_limit) {
            continue;
        }
        std::string copy = field;
        status = dkim_header(dkim.get(), reinterpret_cast<u_char*>(copy.data()), copy.size());
        if (status != DKIM_STAT_OK && status != DKIM_STAT_SYNTAX) {
            decide_rest(signatures, "temperror", "libopendkim: " + library_error(dkim.get()));
            return;
        }
    }

    status = dkim_eoh(dkim.get());
    if (status == DKIM_STAT_OK) {
        if (!body.empty()) {
            std::string copy(body);
            dkim_body(dkim.get(), reinterpret_cast<u_char*>(copy.data()), copy.size());
        }
        status = dkim_eom(dkim.get(), nullptr);
    }
    if (is_resource_failure(status)) {
        decide_rest(signatures, "temperror", "libopendkim: " + library_error(dkim.get()));
        return;
    }
    if (status == DKIM_STAT_SYNTAX && context.signature_of.empty()) {
        decide_rest(signatures, "permerror", "libopendkim: " + library_error(dkim.get()));
        return;
    }

    for (const auto& [sig, index] : context.signature_of) {
        read_signature(dkim.get(), const_cast<DKIM_SIGINFO*>(sig), context, signatures[index],
                       body, options);
    }
    decide_rest(signatures, "permerror", "malformed signature");
}

}  // namespace

struct DkimEngine::Library {
    DKIM_LIB* handle = nullptr;
    bool ed25519 = false;

    Library() {
        handle = dkim_init(nullptr, nullptr);
        if (handle == nullptr) {
            throw std::runtime_error("cannot initialise libopendkim");
        }
        // Bare LFs become CRLF inside the library too, should a caller forget to canonicalize.
        unsigned int flags = DKIM_LIBFLAGS_FIXCRLF;
        dkim_options(handle, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof flags);
        // RFC 8301's key size rule is applied by us (to RSA only, with our reason); the
        // library's own rule would also fail ed25519 keys, which it sizes as 0 bits.
        unsigned int min_bits = 0;
        dkim_options(handle, DKIM_OP_SETOPT, DKIM_OPTS_MINKEYBITS, &min_bits, sizeof min_bits);
        dkim_set_key_lookup(handle, lookup_key);
        dkim_set_prescreen(handle, prescreen);
        ed25519 = dkim_libfeature(handle, DKIM_FEATURE_ED25519);
    }
    ~Library() { dkim_close(handle); }
    Library(const Library&) = delete;
    Library& operator=(const Library&) = delete;
};

DkimEngine::DkimEngine(dns::Resolver& resolver, DkimOptions options)
    : library_(std::make_unique<Library>()), resolver_(resolver), options_(options) {}

DkimEngine::~DkimEngine() = default;

bool DkimEngine::supports_ed25519() const { return library_->ed25519; }

std::vector<DkimSignatureOutcome> DkimEngine::verify(const std::vector<std::string>& fields,
                                                     std::string_view body) const {
    std::vector<SignatureField> signatures = collect_signatures(fields);
    for (std::size_t i = 0; i < signatures.size(); ++i) {
        precheck(signatures[i], i, options_, library_->ed25519);
    }

    bool any_open = false;
    for (const SignatureField& field : signatures) {
        any_open = any_open || !field.decided;
    }
    if (any_open) {
        run_library(library_->handle, resolver_, fields, body, signatures, options_);
    }

    std::vector<DkimSignatureOutcome> outcomes;
    outcomes.reserve(signatures.size());
    for (SignatureField& field : signatures) {
        outcomes.push_back(std::move(field.outcome));
    }
    return outcomes;
}

}  // namespace relaygate::auth::detail
