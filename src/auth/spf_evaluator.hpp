// One RFC 7208 check_host() evaluation over dns::Resolver: record selection, the mechanisms,
// redirect= and exp=, and the processing limits of section 4.6.4, counted per evaluation.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/spf_record.hpp"
#include "relaygate/auth.hpp"
#include "relaygate/dns.hpp"

namespace relaygate::auth::spf {

enum class Result { none, neutral, pass, fail, softfail, temperror, permerror };
std::string_view to_string(Result result);

struct Verdict {
    Result result = Result::none;
    std::string reason;
    std::string explanation;  // fail only, when the record's exp= gave one
};

// Who is being checked: the client and the identity (sender is "local@domain").
struct Identity {
    IpAddress client;
    std::string sender;
    std::string local_part;
    std::string sender_domain;
    std::string helo;
};

// Holds the counters of one evaluation; make one per check_host() call.
class Evaluation {
public:
    Evaluation(dns::Resolver& resolver, const SpfOptions& options, Identity identity);

    // check_host(<ip>, domain, <sender>) of RFC 7208 section 4.
    Verdict check_host(const std::string& domain);

private:
    struct Match;

    Verdict evaluate(const std::string& domain, int depth, bool wants_explanation);
    std::optional<Verdict> select_record(const std::string& domain, std::string& record_text);
    Match match(const Directive& directive, const std::string& domain, int depth);
    Match match_addresses(const std::string& host, const Directive& directive, bool counts_void);
    Match match_mx(const std::string& domain, const Directive& directive);
    Match match_ptr(const std::string& target);
    Match match_include(const std::string& target, int depth);
    Match match_exists(const std::string& target);
    Verdict follow_redirect(const Record& record, const std::string& domain, int depth,
                            bool wants_explanation);
    std::string explanation_for(const Record& record, const std::string& domain);

    bool count_dns_mechanism(Verdict& error);
    bool count_void(const dns::Answer& answer, Verdict& error);
    std::string target_domain(const MacroString& spec, const std::string& domain);
    MacroValues macro_values(const std::string& domain);
    std::vector<std::string> validated_names();
    std::string validated_domain(const std::string& domain);

    dns::Resolver& resolver_;
    SpfOptions options_;
    Identity identity_;
    int dns_mechanisms_ = 0;
    int void_lookups_ = 0;
    // The client's validated PTR names, looked up once per evaluation however many "ptr"
    // mechanisms and %{p} macros ask for them.
    std::optional<std::vector<std::string>> validated_names_;
};

}  // namespace relaygate::auth::spf
