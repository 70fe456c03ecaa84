// SpfChecker: RFC 7208 check_host() through libspf2, fed by dns::Resolver through a custom
// libspf2 DNS layer, with the corrections of DEPENDENCIES.md section 3 applied around it.
//
// libspf2's headers are included in this file only: they need C linkage and pull in
// <arpa/nameser_compat.h>, whose macros (NOERROR, QUERY, ...) break unrelated C++ code.
#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <netdb.h>

extern "C" {
#include <spf2/spf.h>
#include <spf2/spf_dns.h>
#include <spf2/spf_dns_rr.h>
}

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>

#include "relaygate/auth.hpp"
#include "auth/spf_record_text.hpp"

namespace relaygate::auth {
namespace {

// The explanation libspf2 falls back to when the domain published none; recognised and
// reported as no explanation, since SpfOutcome carries only what the domain published.
constexpr const char* default_explanation_marker = "relaygate-no-published-explanation";

// Per-evaluation state, reached by the DNS layer through a thread_local pointer that is set
// around each libspf2 call: the SPF_server_t (and its layer) is shared by every thread.
struct Evaluation {
    dns::Resolver* resolver = nullptr;
    SPF_server_t* server = nullptr;
    int max_void_lookups = 2;
    int void_lookups = 0;
    bool void_limit_exceeded = false;
    bool temperror_seen = false;
    bool oversized_record = false;
    std::string oversized_domain;
};

thread_local Evaluation* current_evaluation = nullptr;

// Sets current_evaluation for the lifetime of one libspf2 call.
class EvaluationScope {
public:
    explicit EvaluationScope(Evaluation& evaluation) { current_evaluation = &evaluation; }
    ~EvaluationScope() { current_evaluation = nullptr; }
    EvaluationScope(const EvaluationScope&) = delete;
    EvaluationScope& operator=(const EvaluationScope&) = delete;
};

// libspf2 logs through global handlers that print to stderr; the error handler must not
// return, so it ends the process quietly the way the library would (abort), but nothing this
// adapter feeds the library is meant to reach it.
[[noreturn]] void quiet_error(const char*, int, const char*) { std::abort(); }
void quiet_message(const char*, int, const char*) {}

// Installs the quiet handlers once per process.
void install_quiet_handlers()
{
    static std::once_flag once;
    std::call_once(once, [] {
        SPF_error_handler = quiet_error;
        SPF_warning_handler = quiet_message;
        SPF_info_handler = quiet_message;
        SPF_debug_handler = quiet_message;
    });
}

// The resolver's type for a libspf2 query type; false for a type we do not serve.
bool record_type_for(ns_type type, dns::RecordType& out)
{
    switch (type) {
    case ns_t_a: out = dns::RecordType::a; return true;
    case ns_t_aaaa: out = dns::RecordType::aaaa; return true;
    case ns_t_mx: out = dns::RecordType::mx; return true;
    case ns_t_ptr: out = dns::RecordType::ptr; return true;
    case ns_t_txt: out = dns::RecordType::txt; return true;
    default: return false;
    }
}

// RFC 7208 4.6.4: a void lookup is an NXDOMAIN or NODATA answer to a mechanism's query. The
// TXT queries (record, include, exp) are left out: a missing record is handled by the rules for
// the record itself.
bool counts_as_void(ns_type type, const dns::Answer& answer)
{
    bool negative = answer.outcome == dns::Outcome::nxdomain ||
                    answer.outcome == dns::Outcome::nodata;
    return negative && type != ns_t_txt;
}

// Copies one record into slot index of rr in the layout libspf2 expects; false if the data
// does not convert (a malformed address, say), so that the record is left out.
bool store_record(SPF_dns_rr_t* rr, int index, ns_type type, const std::string& data)
{
    std::string text = data;
    if (type == ns_t_mx) {
        auto space = text.find(' ');
        text = space == std::string::npos ? text : text.substr(space + 1);
    }
    if (type == ns_t_a) {
        in_addr address{};
        if (inet_pton(AF_INET, text.c_str(), &address) != 1 ||
            SPF_dns_rr_buf_realloc(rr, index, sizeof address) != SPF_E_SUCCESS) {
            return false;
        }
        rr->rr[index]->a = address;
        return true;
    }
    if (type == ns_t_aaaa) {
        in6_addr address{};
        if (inet_pton(AF_INET6, text.c_str(), &address) != 1 ||
            SPF_dns_rr_buf_realloc(rr, index, sizeof address) != SPF_E_SUCCESS) {
            return false;
        }
        rr->rr[index]->aaaa = address;
        return true;
    }
    if (text.find('\0') != std::string::npos ||
        SPF_dns_rr_buf_realloc(rr, index, text.size() + 1) != SPF_E_SUCCESS) {
        return false;
    }
    std::memcpy(rr->rr[index]->txt, text.c_str(), text.size() + 1);
    return true;
}

// True when libspf2 would silently drop terms of record: its compiler stops adding terms once
// the compiled form passes SPF_MAX_MECH_LEN / SPF_MAX_MOD_LEN bytes and reports no error, so
// the terms it kept are counted against the terms written.
bool truncated_by_libspf2(SPF_server_t* server, const std::string& record)
{
    SPF_response_t* scratch = SPF_response_new(nullptr);
    if (scratch == nullptr) {
        return false;
    }
    SPF_record_t* compiled = nullptr;
    SPF_errcode_t error = SPF_record_compile(server, scratch, &compiled, record.c_str());
    bool truncated = error == SPF_E_SUCCESS && compiled != nullptr &&
                     SPF_response_errors(scratch) == 0 &&
                     static_cast<std::size_t>(compiled->num_mech + compiled->num_mod) <
                         spf_text::terms(record).size();
    if (compiled != nullptr) {
        SPF_record_free(compiled);
    }
    SPF_response_free(scratch);
    return truncated;
}

// Applies the record-level corrections to a TXT string before libspf2 compiles it.
std::string corrected_txt(const std::string& domain, const std::string& txt,
                          Evaluation& evaluation)
{
    if (!spf_text::is_spf_record(txt)) {
        return txt;
    }
    std::string corrected = spf_text::without_redirect_beside_all(txt);
    if (truncated_by_libspf2(evaluation.server, corrected)) {
        evaluation.oversized_record = true;
        evaluation.oversized_domain = domain;
    }
    return corrected;
}

// The custom layer's lookup: asks dns::Resolver and converts the answer. Never returns NULL
// (libspf2 would abort), and answers TRY_AGAIN once the void-lookup limit is exceeded so that
// libspf2 stops early; the result is then replaced by permerror.
SPF_dns_rr_t* layer_lookup(SPF_dns_server_t* layer, const char* domain, ns_type type, int)
{
    Evaluation* evaluation = current_evaluation;
    dns::RecordType wanted{};
    if (evaluation == nullptr || !record_type_for(type, wanted)) {
        return SPF_dns_rr_new_init(layer, domain, type, 0, NO_DATA);
    }
    if (evaluation->void_limit_exceeded) {
        return SPF_dns_rr_new_init(layer, domain, type, 0, TRY_AGAIN);
    }

    dns::Answer answer = evaluation->resolver->lookup(domain, wanted);

    if (counts_as_void(type, answer) && ++evaluation->void_lookups > evaluation->max_void_lookups) {
        evaluation->void_limit_exceeded = true;
    }
    switch (answer.outcome) {
    case dns::Outcome::temperror:
        evaluation->temperror_seen = true;
        return SPF_dns_rr_new_init(layer, domain, type, 0, TRY_AGAIN);
    case dns::Outcome::nxdomain:
        return SPF_dns_rr_new_init(layer, domain, type, answer.ttl, HOST_NOT_FOUND);
    case dns::Outcome::nodata:
        return SPF_dns_rr_new_init(layer, domain, type, answer.ttl, NO_DATA);
    case dns::Outcome::found:
        break;
    }

    SPF_dns_rr_t* rr = SPF_dns_rr_new_init(layer, domain, type, answer.ttl, NETDB_SUCCESS);
    if (rr == nullptr) {
        return SPF_dns_rr_new_init(layer, domain, type, 0, TRY_AGAIN);
    }
    int stored = 0;
    for (const std::string& record : answer.records) {
        std::string data = type == ns_t_txt ? corrected_txt(domain, record, *evaluation) : record;
        if (store_record(rr, stored, type, data)) {
            ++stored;
        }
    }
    rr->num_rr = stored;
    if (stored == 0) {
        rr->herrno = NO_DATA;
    }
    return rr;
}

// Frees the layer allocated in make_layer.
void layer_destroy(SPF_dns_server_t* layer) { std::free(layer); }

// A libspf2 DNS layer whose every lookup goes through current_evaluation's resolver.
SPF_dns_server_t* make_layer()
{
    auto* layer = static_cast<SPF_dns_server_t*>(std::calloc(1, sizeof(SPF_dns_server_t)));
    if (layer == nullptr) {
        throw std::bad_alloc();
    }
    layer->lookup = layer_lookup;
    layer->destroy = layer_destroy;
    layer->name = "relaygate";
    return layer;
}

// RFC 8601 word for a libspf2 result that is not INVALID.
std::string result_word(SPF_result_t result)
{
    switch (result) {
    case SPF_RESULT_NEUTRAL: return "neutral";
    case SPF_RESULT_PASS: return "pass";
    case SPF_RESULT_FAIL: return "fail";
    case SPF_RESULT_SOFTFAIL: return "softfail";
    case SPF_RESULT_NONE: return "none";
    case SPF_RESULT_TEMPERROR: return "temperror";
    case SPF_RESULT_PERMERROR: return "permerror";
    default: return "permerror";
    }
}

// The domain part of a sender ("local@domain" or a bare domain).
std::string domain_of(std::string_view sender)
{
    auto at = sender.rfind('@');
    return std::string(at == std::string_view::npos ? sender : sender.substr(at + 1));
}

}  // namespace

struct SpfChecker::Impl {
    dns::Resolver& resolver;
    SpfOptions options;
    SPF_dns_server_t* layer = nullptr;
    SPF_server_t* server = nullptr;

    Impl(dns::Resolver& r, SpfOptions o) : resolver(r), options(o) {}
    ~Impl()
    {
        if (server != nullptr) {
            SPF_server_free(server);
        }
        if (layer != nullptr) {
            SPF_dns_free(layer);
        }
    }
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;

    SpfOutcome evaluate(std::string_view client_ip, std::string_view domain,
                        std::string_view sender, std::string_view helo, bool helo_scope);
};

SpfChecker::SpfChecker(dns::Resolver& resolver, SpfOptions options)
    : impl_(std::make_unique<Impl>(resolver, options))
{
    install_quiet_handlers();
    impl_->layer = make_layer();
    impl_->server = SPF_server_new_dns(impl_->layer, 0);
    if (impl_->server == nullptr) {
        throw std::bad_alloc();
    }
    SPF_server_set_max_dns_mech(impl_->server, options.max_dns_mechanisms);
    SPF_response_t* response = nullptr;
    SPF_server_set_explanation(impl_->server, default_explanation_marker, &response);
    if (response != nullptr) {
        SPF_response_free(response);
    }
}

SpfChecker::~SpfChecker() = default;

// One evaluation through libspf2 with the request built in the order it needs, the loopback
// shortcut bypassed and its result words corrected.
SpfOutcome SpfChecker::Impl::evaluate(std::string_view client_ip, std::string_view domain,
                                      std::string_view sender, std::string_view helo,
                                      bool helo_scope)
{
    SpfOutcome outcome;
    outcome.domain = std::string(domain);
    outcome.scope = helo_scope ? "helo" : "mailfrom";

    SPF_request_t* request = SPF_request_new(server);
    std::string ip(client_ip);
    bool v6 = ip.find(':') != std::string::npos;
    SPF_errcode_t ip_error = v6 ? SPF_request_set_ipv6_str(request, ip.c_str())
                                : SPF_request_set_ipv4_str(request, ip.c_str());
    if (ip_error != SPF_E_SUCCESS) {
        SPF_request_free(request);
        outcome.result = "none";
        outcome.reason = "no valid client address";
        return outcome;
    }
    // libspf2 derives the checked identity from these. HELO must be set first: an empty
    // MAIL FROM then means postmaster@<HELO>; in the other order it means "postmaster@".
    std::string helo_text(helo_scope ? domain : helo);
    std::string sender_text(helo_scope ? std::string_view() : sender);
    SPF_request_set_helo_dom(request, helo_text.c_str());
    SPF_request_set_env_from(request, sender_text.c_str());

    Evaluation evaluation;
    evaluation.resolver = &resolver;
    evaluation.server = server;
    evaluation.max_void_lookups = options.max_void_lookups;
    SPF_response_t* response = SPF_response_new(request);
    {
        EvaluationScope scope(evaluation);
        // SPF_request_query_mailfrom would pass any loopback client before evaluating; this
        // is its body without that shortcut.
        request->cur_dom = request->env_from_dp;
        SPF_record_t* record = nullptr;
        SPF_errcode_t error = SPF_server_get_record(server, request, response, &record);
        if (error == SPF_E_SUCCESS && record != nullptr) {
            response->spf_record_exp = record;
            SPF_record_interpret(record, request, response, 0);
        } else {
            SPF_i_done(response, response->result, response->reason, response->err);
        }
        if (record != nullptr) {
            SPF_record_free(record);
            response->spf_record_exp = nullptr;
        }
    }

    SPF_result_t result = SPF_response_result(response);
    SPF_errcode_t error = SPF_response_errcode(response);
    if (evaluation.void_limit_exceeded) {
        outcome.result = "permerror";
        outcome.reason = "more than " + std::to_string(options.max_void_lookups) +
                         " void DNS lookups (RFC 7208 4.6.4)";
    } else if (evaluation.oversized_record) {
        // TODO: evaluate records longer than libspf2's compiled buffer correctly instead of
        // calling them permerror; libspf2 drops their tail silently and would answer neutral.
        outcome.result = "permerror";
        outcome.reason = "SPF record of " + evaluation.oversized_domain +
                         " is too long to evaluate";
    } else if (result == SPF_RESULT_INVALID) {
        bool dns_failure = error == SPF_E_DNS_ERROR || evaluation.temperror_seen;
        outcome.result = dns_failure ? "temperror" : "permerror";
        outcome.reason = SPF_strerror(error);
    } else {
        outcome.result = result_word(result);
        outcome.reason = error != SPF_E_SUCCESS ? SPF_strerror(error) : "";
    }
    if (outcome.result == "fail") {
        const char* explanation = SPF_response_get_explanation(response);
        if (explanation != nullptr && std::strcmp(explanation, default_explanation_marker) != 0) {
            outcome.explanation = explanation;
        }
    }
    SPF_response_free(response);
    SPF_request_free(request);
    return outcome;
}

SpfOutcome SpfChecker::check_host(std::string_view client_ip, std::string_view domain,
                                  std::string_view sender, std::string_view helo)
{
    return impl_->evaluate(client_ip, domain, sender, helo, sender.empty());
}

SpfOutcome SpfChecker::check(const Envelope& envelope)
{
    SpfOutcome outcome;
    bool null_sender = envelope.mail_from.empty();
    outcome.scope = null_sender ? "helo" : "mailfrom";
    outcome.domain = null_sender ? envelope.helo : domain_of(envelope.mail_from);
    if (envelope.client_ip.empty()) {
        outcome.reason = "no client IP address";
        return outcome;
    }
    if (null_sender) {
        return impl_->evaluate(envelope.client_ip, envelope.helo, "", envelope.helo, true);
    }
    return impl_->evaluate(envelope.client_ip, outcome.domain, envelope.mail_from, envelope.helo,
                           false);
}

}  // namespace relaygate::auth
