// auth — SPF (libspf2), DKIM (libopendkim) and DMARC (libopendmarc + libpsl), each behind one
// adapter that feeds the library from dns::Resolver and corrects its known wrong answers, and
// the RFC 8601 Authentication-Results value describing all of it.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "relaygate/dns.hpp"
#include "relaygate/message.hpp"

namespace relaygate::auth {

// Result words are RFC 8601's: pass fail softfail neutral none temperror permerror policy.

struct SpfOutcome {
    std::string result = "none";
    std::string domain;          // the domain checked
    std::string scope = "mailfrom";  // "mailfrom" | "helo"
    std::string reason;          // one line: why
    std::string explanation;     // exp= text for fail, when the domain published one
};

struct SpfOptions {
    int max_dns_mechanisms = 10;  // RFC 7208 4.6.4
    int max_void_lookups = 2;     // RFC 7208 4.6.4
};

// check_host() of RFC 7208 through libspf2, with the corrections of DEPENDENCIES.md.
class SpfChecker {
public:
    SpfChecker(dns::Resolver& resolver, SpfOptions options = {});
    ~SpfChecker();
    SpfChecker(const SpfChecker&) = delete;
    SpfChecker& operator=(const SpfChecker&) = delete;

    // One check_host() evaluation: identity is the sender (local@domain) or, for the HELO
    // scope, "postmaster@<helo>".
    SpfOutcome check_host(std::string_view client_ip, std::string_view domain,
                          std::string_view sender, std::string_view helo);

    // The envelope's SPF: MAIL FROM, or the HELO identity for the null sender (RFC 7208 2.4);
    // none when there is no client IP.
    SpfOutcome check(const Envelope& envelope);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

struct DkimSignatureOutcome {
    std::string result;      // pass fail neutral temperror permerror policy
    std::string domain;      // d=
    std::string selector;    // s=
    std::string algorithm;   // a=, e.g. "rsa-sha256"
    std::string identity;    // i=, when present
    std::string reason;      // one line: why (empty for a plain pass)
    std::string header_b;    // the first 8 characters of b=, for Authentication-Results
    unsigned key_bits = 0;   // RSA key size; 0 for ed25519 or when unknown
    // l= signatures: body octets after the signed length (a finding, not a result change).
    std::size_t unsigned_body_bytes = 0;
};

struct DkimOptions {
    std::size_t max_signatures = 10;   // signatures verified per message; the rest "policy"
    bool allow_rsa_sha1 = false;       // RFC 8301: rsa-sha1 is not valid unless asked for
    unsigned min_rsa_bits = 1024;      // RFC 8301
};

// Thread-safe: one verifier serves every thread.
class DkimVerifier {
public:
    DkimVerifier(dns::Resolver& resolver, DkimOptions options = {});
    ~DkimVerifier();
    DkimVerifier(const DkimVerifier&) = delete;
    DkimVerifier& operator=(const DkimVerifier&) = delete;

    // One outcome per DKIM-Signature field, in header order (top first).
    std::vector<DkimSignatureOutcome> verify(const Message& message);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

struct DmarcOutcome {
    std::string result = "none";  // pass fail none temperror permerror
    std::string domain;           // RFC5322.From domain
    std::string policy;           // the published policy that applies (the p=, sp= or np= value,
                                  // reason says which): none quarantine reject ("" if none)
    std::string disposition;      // what the policy asks for this message: none quarantine
                                  // reject (t=y or historic pct= applied)
    bool aligned_spf = false;
    bool aligned_dkim = false;
    std::string record_domain;    // where the record was found
    std::string reason;           // one line
    std::string organizational_domain;  // of the From domain (tree walk or PSL), when known
};

struct DmarcOptions {
    std::string public_suffix_file;  // empty: the Debian publicsuffix package's list
    // true: RFC 9989 policy discovery and organizational domains by the DNS tree walk (the PSL
    // then only keeps public suffixes from aligning); false: RFC 7489 with the PSL.
    bool tree_walk = true;
};

// Thread-safe after construction (libopendmarc's global state is set up once).
class DmarcEvaluator {
public:
    DmarcEvaluator(dns::Resolver& resolver, DmarcOptions options = {});
    ~DmarcEvaluator();
    DmarcEvaluator(const DmarcEvaluator&) = delete;
    DmarcEvaluator& operator=(const DmarcEvaluator&) = delete;

    // sampling_key decides pct= sampling deterministically (the Message-ID, say), so that a
    // message gets the same disposition every run.
    DmarcOutcome evaluate(const Message& message, const SpfOutcome& spf,
                          const std::vector<DkimSignatureOutcome>& dkim,
                          std::string_view sampling_key);

    // The organizational domain by the public suffix list (no DNS), as RFC 7489 defines it;
    // empty for a public suffix itself. RFC 9989's tree-walk answer is in
    // DmarcOutcome::organizational_domain.
    std::string organizational_domain(std::string_view domain) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The RFC 8601 header value: "authserv-id; spf=pass smtp.mailfrom=...; dkim=... ; dmarc=...".
std::string authentication_results(std::string_view authserv_id, const SpfOutcome& spf,
                                   const std::vector<DkimSignatureOutcome>& dkim,
                                   const DmarcOutcome& dmarc);

}  // namespace relaygate::auth
