// SpfChecker: RFC 7208 check_host() for the envelope's MAIL FROM or HELO identity.
//
// Why this is not libspf2. DESIGN.md names libspf2 for SPF, and the first version of this
// adapter wrapped it (git history: "SPF: libspf2 adapter with a resolver-fed DNS layer"): a
// custom SPF_dns_server_t over dns::Resolver, with the corrections of DEPENDENCIES.md 3 around
// it (void-lookup counting in the layer, redirect= dropped beside "all", (invalid) mapped to
// permerror/temperror, the loopback shortcut bypassed, oversized records detected). Run
// against the RFC 7208 suite it passed 130 of 203 tests. The 73 failures were inside
// libspf2's own parser and interpreter, where no wrapping reaches:
//   - domain-spec syntax is not checked: a:1.2.3.4, a:abc.123, a:museum, a:, mx:, exists:,
//     ptr:, redirect=, exp= with bad toplabels or empty domains give neutral or fail, not
//     permerror (a-numeric, a-bad-toplabel, a-only-toplabel, a-empty-domain, mx-empty-domain,
//     exists-empty-domain, ptr-empty-domain, redirect-empty-domain, exp-empty-domain ...);
//   - prefix lengths of /0 give permerror and cidr4-032 is accepted (cidr4-0, a-cidr4-0,
//     a-cidr6-0-ip6, mx-cidr4-0, cidr6-0 ...; cidr4-032);
//   - exp= and macros: spaces in explanation text come back as "%" and the macros after them
//     stay unexpanded (trailing-dot-exp, v-macro-ip4, p-macro-ip4-valid ...), upper-case
//     macros are escaped with lower-case hex (upper-macro), an exp= target with two TXT
//     records is used instead of ignored (exp-multiple-txt), and bad macros are accepted
//     (invalid-macro-char, exp-only-macro-char);
//   - control characters and non-ASCII octets in a record are accepted (non-ascii-policy,
//     control-char-policy), as are two redirect= or exp= modifiers (redirect-twice, exp-twice)
//     and modifiers with qualifiers (redirect-is-modifier);
//   - IPv4-mapped IPv6 clients are not treated as IPv4 (ip4-mapped-ip6), includes past the
//     lookup limit still pass (include-over-limit), and more than 10 PTR names give permerror
//     instead of being ignored (ptr-limit);
//   - and the DEPENDENCIES.md defects: records compiling past 511 bytes lose their tail with
//     no error (wrong neutral), and loopback clients pass before any lookup.
// So SPF evaluation is a focused implementation of RFC 7208 (spf_record.cpp: syntax and
// macros; spf_evaluator.cpp: check_host() and its limits) over dns::Resolver, tested against
// the same suite (tests/conformance/auth_spf_rfc7208_suite.cpp). libspf2 is no longer used.
#include "relaygate/auth.hpp"

#include <algorithm>
#include <cctype>

#include "auth/spf_evaluator.hpp"
#include "auth/spf_record.hpp"

namespace relaygate::auth {
namespace {

// RFC 7208 4.3: the local part is everything before the last '@'; an empty one (or a sender
// with no '@') is "postmaster".
spf::Identity identity_for(const spf::IpAddress& client, std::string_view sender,
                           std::string_view helo)
{
    spf::Identity identity;
    identity.client = client;
    identity.helo = std::string(helo);
    std::size_t at = sender.rfind('@');
    std::string_view local = at == std::string_view::npos ? "" : sender.substr(0, at);
    identity.sender_domain =
        std::string(at == std::string_view::npos ? sender : sender.substr(at + 1));
    identity.local_part = local.empty() ? "postmaster" : std::string(local);
    identity.sender = identity.local_part + "@" + identity.sender_domain;
    return identity;
}

// The HELO identity is asked for with an empty sender or as "postmaster@<helo>" for the HELO
// name itself (auth.hpp); anything else is the MAIL FROM identity.
bool is_helo_identity(std::string_view domain, std::string_view sender, std::string_view helo)
{
    auto same = [](std::string_view a, std::string_view b) {
        return a.size() == b.size() &&
               std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
                   return std::tolower(static_cast<unsigned char>(x)) ==
                          std::tolower(static_cast<unsigned char>(y));
               });
    };
    constexpr std::string_view postmaster = "postmaster@";
    bool postmaster_of_domain = sender.size() == postmaster.size() + domain.size() &&
                                same(sender.substr(0, postmaster.size()), postmaster) &&
                                same(sender.substr(postmaster.size()), domain);
    return sender.empty() || (postmaster_of_domain && same(domain, helo));
}

}  // namespace

struct SpfChecker::Impl {
    dns::Resolver& resolver;
    SpfOptions options;
};

SpfChecker::SpfChecker(dns::Resolver& resolver, SpfOptions options)
    : impl_(std::make_unique<Impl>(Impl{resolver, options}))
{
}

SpfChecker::~SpfChecker() = default;

SpfOutcome SpfChecker::check_host(std::string_view client_ip, std::string_view domain,
                                  std::string_view sender, std::string_view helo)
{
    SpfOutcome outcome;
    outcome.domain = std::string(domain);
    outcome.scope = is_helo_identity(domain, sender, helo) ? "helo" : "mailfrom";
    std::optional<spf::IpAddress> client = spf::IpAddress::parse(client_ip);
    if (!client) {
        outcome.reason = "client address '" + std::string(client_ip) + "' is not an IP address";
        return outcome;
    }

    std::string identity_sender =
        sender.empty() ? "postmaster@" + std::string(domain) : std::string(sender);
    spf::Evaluation evaluation(impl_->resolver, impl_->options,
                               identity_for(*client, identity_sender, helo));
    spf::Verdict verdict = evaluation.check_host(std::string(domain));
    outcome.result = std::string(spf::to_string(verdict.result));
    outcome.reason = verdict.reason;
    outcome.explanation = verdict.explanation;
    return outcome;
}

SpfOutcome SpfChecker::check(const Envelope& envelope)
{
    bool null_sender = envelope.mail_from.empty();
    std::string_view mail_from = envelope.mail_from;
    std::size_t at = mail_from.rfind('@');
    std::string domain(null_sender ? std::string_view(envelope.helo)
                       : at == std::string_view::npos ? mail_from
                                                      : mail_from.substr(at + 1));
    if (envelope.client_ip.empty() || domain.empty()) {
        SpfOutcome outcome;
        outcome.domain = domain;
        outcome.scope = null_sender ? "helo" : "mailfrom";
        outcome.reason = envelope.client_ip.empty() ? "no client IP address"
                                                    : "no HELO identity for the null sender";
        return outcome;
    }
    // RFC 7208 2.4: the null sender is checked as postmaster@<HELO>.
    return check_host(envelope.client_ip, domain, null_sender ? "" : mail_from, envelope.helo);
}

}  // namespace relaygate::auth
