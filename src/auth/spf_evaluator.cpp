#include "auth/spf_evaluator.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

namespace relaygate::auth::spf {
namespace {

// RFC 7208 4.6.4: at most 10 MX names per "mx" (more is permerror) and 10 PTR names per
// "ptr" or %{p} (the rest are ignored).
constexpr std::size_t max_mx_names = 10;
constexpr std::size_t max_ptr_names = 10;
// Nesting is bounded by the DNS mechanism limit already; this guards against a configured
// limit that is very large.
constexpr int max_nesting = 32;
constexpr std::size_t max_domain_length = 253;

std::string lowercase(std::string_view text)
{
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

// RFC 7208 4.8: a name longer than 253 octets loses labels on the left until it fits; a
// trailing dot is dropped.
std::string fit_domain(std::string name)
{
    if (!name.empty() && name.back() == '.') {
        name.pop_back();
    }
    while (name.size() > max_domain_length) {
        std::size_t dot = name.find('.');
        name = dot == std::string::npos ? "" : name.substr(dot + 1);
    }
    return name;
}

Result result_of(Qualifier qualifier)
{
    switch (qualifier) {
    case Qualifier::pass: return Result::pass;
    case Qualifier::fail: return Result::fail;
    case Qualifier::softfail: return Result::softfail;
    case Qualifier::neutral: return Result::neutral;
    }
    return Result::neutral;
}

dns::RecordType address_type(const IpAddress& client)
{
    return client.v6 ? dns::RecordType::aaaa : dns::RecordType::a;
}

bool is_negative(const dns::Answer& answer)
{
    return answer.outcome == dns::Outcome::nxdomain || answer.outcome == dns::Outcome::nodata;
}

// True when name is domain or one of its subdomains (case-insensitive).
bool within_domain(const std::string& name, const std::string& domain)
{
    std::string host = lowercase(fit_domain(name));
    std::string zone = lowercase(domain);
    return host == zone ||
           (host.size() > zone.size() && host.ends_with(zone) &&
            host[host.size() - zone.size() - 1] == '.');
}

Verdict error_verdict(Result result, std::string reason)
{
    return {result, std::move(reason), ""};
}

}  // namespace

std::string_view to_string(Result result)
{
    switch (result) {
    case Result::none: return "none";
    case Result::neutral: return "neutral";
    case Result::pass: return "pass";
    case Result::fail: return "fail";
    case Result::softfail: return "softfail";
    case Result::temperror: return "temperror";
    case Result::permerror: return "permerror";
    }
    return "none";
}

// What one mechanism came to: a match, no match, or an error that ends the evaluation.
struct Evaluation::Match {
    bool matched = false;
    std::optional<Verdict> error;

    static Match yes() { return {true, std::nullopt}; }
    static Match no() { return {false, std::nullopt}; }
    static Match failed(Verdict verdict) { return {false, std::move(verdict)}; }
};

Evaluation::Evaluation(dns::Resolver& resolver, const SpfOptions& options, Identity identity)
    : resolver_(resolver), options_(options), identity_(std::move(identity))
{
}

Verdict Evaluation::check_host(const std::string& domain)
{
    if (!is_valid_domain(domain)) {
        return error_verdict(Result::none, "'" + domain + "' is not a valid domain name");
    }
    return evaluate(fit_domain(domain), 0, true);
}

// Finds the one SPF record of domain (RFC 7208 4.4, 4.5) into record_text; a verdict when
// there is none, more than one, or the lookup failed: the evaluation ends there.
std::optional<Verdict> Evaluation::select_record(const std::string& domain,
                                                 std::string& record_text)
{
    dns::Answer answer = resolver_.lookup(domain, dns::RecordType::txt);
    if (answer.outcome == dns::Outcome::temperror) {
        return error_verdict(Result::temperror, "DNS failure looking up the SPF record of " +
                                                    domain + ": " + answer.detail);
    }
    std::vector<std::string> records;
    for (const std::string& txt : answer.records) {
        if (is_spf_record(txt)) {
            records.push_back(txt);
        }
    }
    if (records.empty()) {
        return error_verdict(Result::none, "no SPF record at " + domain);
    }
    if (records.size() > 1) {
        return error_verdict(Result::permerror, "more than one SPF record at " + domain);
    }
    record_text = records.front();
    return std::nullopt;
}

// check_host() for one domain: select and parse its record, try each directive in order,
// then redirect=, then the default neutral.
Verdict Evaluation::evaluate(const std::string& domain, int depth, bool wants_explanation)
{
    std::string text;
    if (std::optional<Verdict> ended = select_record(domain, text)) {
        return *ended;
    }
    std::string error;
    std::optional<Record> record = parse_record(text, error);
    if (!record) {
        return error_verdict(Result::permerror, "SPF record of " + domain + ": " + error);
    }

    for (const Directive& directive : record->directives) {
        Match outcome = match(directive, domain, depth);
        if (outcome.error) {
            return *outcome.error;
        }
        if (!outcome.matched) {
            continue;
        }
        Verdict verdict{result_of(directive.qualifier),
                        "'" + directive.text + "' matched in the SPF record of " + domain, ""};
        if (verdict.result == Result::fail && wants_explanation && record->explanation) {
            verdict.explanation = explanation_for(*record, domain);
        }
        return verdict;
    }

    if (record->redirect) {
        return follow_redirect(*record, domain, depth, wants_explanation);
    }
    return error_verdict(Result::neutral, "no mechanism matched in the SPF record of " + domain);
}

// redirect=: the target's result is the result (RFC 7208 6.1), but only when the record has
// no "all" mechanism, which would have matched before this point.
Verdict Evaluation::follow_redirect(const Record& record, const std::string& domain, int depth,
                                    bool wants_explanation)
{
    Verdict error;
    if (!count_dns_mechanism(error)) {
        return error;
    }
    std::string target = target_domain(*record.redirect, domain);
    if (depth >= max_nesting || !is_valid_domain(target)) {
        return error_verdict(Result::permerror, "invalid redirect target '" + target + "'");
    }
    Verdict verdict = evaluate(target, depth + 1, wants_explanation);
    if (verdict.result == Result::none) {
        return error_verdict(Result::permerror,
                             "redirect target " + target + " has no SPF record");
    }
    return verdict;
}

// One directive's mechanism against the client; those that query DNS count toward the limit.
Evaluation::Match Evaluation::match(const Directive& directive, const std::string& domain,
                                    int depth)
{
    if (directive.mechanism == Mechanism::all) {
        return Match::yes();
    }
    if (directive.mechanism == Mechanism::ip4 || directive.mechanism == Mechanism::ip6) {
        int prefix = identity_.client.v6 ? directive.cidr6 : directive.cidr4;
        return identity_.client.in_network(directive.network, prefix) ? Match::yes()
                                                                       : Match::no();
    }

    Verdict error;
    if (!count_dns_mechanism(error)) {
        return Match::failed(error);
    }
    std::string target = directive.domain ? target_domain(*directive.domain, domain) : domain;
    switch (directive.mechanism) {
    case Mechanism::a: return match_addresses(target, directive, true);
    case Mechanism::mx: return match_mx(target, directive);
    case Mechanism::ptr: return match_ptr(target);
    case Mechanism::include: return match_include(target, depth);
    case Mechanism::exists: return match_exists(target);
    default: return Match::no();
    }
}

// "a" and each MX host: does host have an address of the client's family within the prefix?
Evaluation::Match Evaluation::match_addresses(const std::string& host, const Directive& directive,
                                              bool counts_void)
{
    dns::Answer answer = resolver_.lookup(host, address_type(identity_.client));
    if (answer.outcome == dns::Outcome::temperror) {
        return Match::failed(
            error_verdict(Result::temperror, "DNS failure looking up " + host + ": " +
                                                 answer.detail));
    }
    Verdict error;
    if (counts_void && !count_void(answer, error)) {
        return Match::failed(error);
    }
    int prefix = identity_.client.v6 ? directive.cidr6 : directive.cidr4;
    for (const std::string& record : answer.records) {
        std::optional<IpAddress> address = IpAddress::parse(record);
        if (address && identity_.client.in_network(*address, prefix)) {
            return Match::yes();
        }
    }
    return Match::no();
}

// "mx": the addresses of up to 10 MX hosts (RFC 7208 5.4, 4.6.4).
Evaluation::Match Evaluation::match_mx(const std::string& domain, const Directive& directive)
{
    dns::Answer answer = resolver_.lookup(domain, dns::RecordType::mx);
    if (answer.outcome == dns::Outcome::temperror) {
        return Match::failed(error_verdict(
            Result::temperror, "DNS failure looking up MX of " + domain + ": " + answer.detail));
    }
    Verdict error;
    if (!count_void(answer, error)) {
        return Match::failed(error);
    }
    if (answer.records.size() > max_mx_names) {
        return Match::failed(
            error_verdict(Result::permerror, "more than 10 MX names for " + domain));
    }
    // The MX hosts' own address lookups are not counted as void lookups, only the mechanism's
    // MX query: an MX host without an address of the client's family (an IPv4-only MX and an
    // IPv6 client) is common and no sign of abuse.
    for (const std::string& record : answer.records) {
        std::size_t space = record.find(' ');
        std::string host = space == std::string::npos ? record : record.substr(space + 1);
        Match host_match = match_addresses(fit_domain(host), directive, false);
        if (host_match.matched || host_match.error) {
            return host_match;
        }
    }
    return Match::no();
}

// The client's PTR names (first 10) whose own addresses include the client (RFC 7208 5.5).
std::vector<std::string> Evaluation::validated_names()
{
    if (validated_names_) {
        return *validated_names_;
    }
    std::vector<std::string> validated;
    dns::Answer answer = resolver_.lookup(identity_.client.reverse_name(), dns::RecordType::ptr);
    std::size_t checked = 0;
    for (const std::string& name : answer.records) {
        if (checked++ == max_ptr_names) {
            break;
        }
        std::string host = fit_domain(name);
        dns::Answer addresses = resolver_.lookup(host, address_type(identity_.client));
        for (const std::string& record : addresses.records) {
            std::optional<IpAddress> address = IpAddress::parse(record);
            if (address && address->v6 == identity_.client.v6 &&
                address->bytes == identity_.client.bytes) {
                validated.push_back(host);
                break;
            }
        }
    }
    validated_names_ = validated;
    return validated;
}

// "ptr": a validated name equal to or under the target. DNS errors mean no match.
Evaluation::Match Evaluation::match_ptr(const std::string& target)
{
    for (const std::string& name : validated_names()) {
        if (within_domain(name, target)) {
            return Match::yes();
        }
    }
    return Match::no();
}

// "include": matches on pass; temperror and permerror carry over, and a target with no
// record is permerror (RFC 7208 5.2).
Evaluation::Match Evaluation::match_include(const std::string& target, int depth)
{
    if (depth >= max_nesting || !is_valid_domain(target)) {
        return Match::failed(
            error_verdict(Result::permerror, "invalid include target '" + target + "'"));
    }
    Verdict included = evaluate(target, depth + 1, false);
    switch (included.result) {
    case Result::pass: return Match::yes();
    case Result::fail:
    case Result::softfail:
    case Result::neutral: return Match::no();
    case Result::temperror: return Match::failed(included);
    case Result::permerror: return Match::failed(included);
    case Result::none:
        return Match::failed(
            error_verdict(Result::permerror, "included domain " + target + " has no SPF record"));
    }
    return Match::no();
}

// "exists": any A record, whatever the client's family (RFC 7208 5.7).
Evaluation::Match Evaluation::match_exists(const std::string& target)
{
    dns::Answer answer = resolver_.lookup(target, dns::RecordType::a);
    if (answer.outcome == dns::Outcome::temperror) {
        return Match::failed(error_verdict(
            Result::temperror, "DNS failure looking up " + target + ": " + answer.detail));
    }
    Verdict error;
    if (!count_void(answer, error)) {
        return Match::failed(error);
    }
    return answer.ok() ? Match::yes() : Match::no();
}

// RFC 7208 6.2: the exp= target's single TXT record, macro-expanded; any problem means no
// explanation, never a different result.
std::string Evaluation::explanation_for(const Record& record, const std::string& domain)
{
    std::string target = target_domain(*record.explanation, domain);
    if (!is_valid_domain(target)) {
        return "";
    }
    dns::Answer answer = resolver_.lookup(target, dns::RecordType::txt);
    if (!answer.ok() || answer.records.size() != 1) {
        return "";
    }
    std::string error;
    std::optional<MacroString> text =
        parse_macro_string(answer.records.front(), MacroUse::explanation, error);
    return text ? expand(*text, macro_values(domain)) : "";
}

// RFC 7208 4.6.4: mechanisms and modifiers that cause DNS queries, at most max_dns_mechanisms
// per evaluation, includes and redirects included.
bool Evaluation::count_dns_mechanism(Verdict& error)
{
    if (++dns_mechanisms_ <= options_.max_dns_mechanisms) {
        return true;
    }
    error = error_verdict(Result::permerror, "more than " +
                                                 std::to_string(options_.max_dns_mechanisms) +
                                                 " DNS-querying mechanisms (RFC 7208 4.6.4)");
    return false;
}

// RFC 7208 4.6.4: at most max_void_lookups NXDOMAIN or NODATA answers per evaluation.
bool Evaluation::count_void(const dns::Answer& answer, Verdict& error)
{
    if (!is_negative(answer) || ++void_lookups_ <= options_.max_void_lookups) {
        return true;
    }
    error = error_verdict(Result::permerror, "more than " +
                                                 std::to_string(options_.max_void_lookups) +
                                                 " void DNS lookups (RFC 7208 4.6.4)");
    return false;
}

std::string Evaluation::target_domain(const MacroString& spec, const std::string& domain)
{
    return fit_domain(expand(spec, macro_values(domain)));
}

MacroValues Evaluation::macro_values(const std::string& domain)
{
    MacroValues values;
    values.sender = identity_.sender;
    values.local_part = identity_.local_part;
    values.sender_domain = identity_.sender_domain;
    values.domain = domain;
    values.client = identity_.client;
    values.helo = identity_.helo;
    values.validated_domain = [this, domain] { return validated_domain(domain); };
    return values;
}

// %{p}: a validated name, preferring the current domain itself, then one of its subdomains,
// then any; "unknown" when there is none (RFC 7208 7.3).
std::string Evaluation::validated_domain(const std::string& domain)
{
    std::vector<std::string> names = validated_names();
    for (const std::string& name : names) {
        if (lowercase(name) == lowercase(domain)) {
            return name;
        }
    }
    for (const std::string& name : names) {
        if (within_domain(name, domain)) {
            return name;
        }
    }
    return names.empty() ? "unknown" : names.front();
}

}  // namespace relaygate::auth::spf
