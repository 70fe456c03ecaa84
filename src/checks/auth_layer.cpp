// The auth layer: SPF, DKIM and DMARC through the auth adapters, their outcomes recorded in
// the verdict and turned into findings.
//
// Finding ids:
//   spf_fail, spf_softfail, spf_permerror    the envelope's SPF result
//   spf_temperror, dkim_temperror            a DNS lookup failed temporarily
//   dkim_fail                                a signature did not verify
//   dkim_permerror                           a signature or its key is malformed
//   dkim_policy                              a signature refused by policy (RFC 8301 rsa-sha1,
//                                            a short key, the signature limit)
//   dkim_unsigned_content                    content after an l= body length (RFC 6376 8.2)
//   dmarc_reject, dmarc_quarantine           DMARC fail; the domain asks to reject/quarantine
//   dmarc_fail                               DMARC fail under p=none or sampled out by pct=
//   dmarc_permerror, dmarc_temperror         no usable From domain / DNS failure
#include <chrono>
#include <sstream>

#include "relaygate/checks.hpp"

namespace relaygate::checks {
namespace {

Finding make_finding(std::string id, double score, std::string detail)
{
    return Finding{"auth", std::move(id), score, std::move(detail), std::nullopt};
}

void spf_findings(const auth::SpfOutcome& spf, Context& context, std::vector<Finding>& out)
{
    std::string where = spf.scope + " " + spf.domain + ": " + spf.reason;
    if (spf.result == "fail")
        out.push_back(make_finding("spf_fail", 3, "SPF fail for " + where));
    else if (spf.result == "softfail")
        out.push_back(make_finding("spf_softfail", 1, "SPF softfail for " + where));
    else if (spf.result == "permerror")
        out.push_back(make_finding("spf_permerror", 1, "SPF permerror for " + where));
    else if (spf.result == "temperror")
        out.push_back(make_finding("spf_temperror", 0, "SPF temperror for " + where));
    (void)context;
}

void dkim_findings(const std::vector<auth::DkimSignatureOutcome>& signatures,
                   std::vector<Finding>& out)
{
    for (const auto& signature : signatures) {
        std::string who = "d=" + signature.domain + " s=" + signature.selector;
        std::string why = signature.reason.empty() ? "" : ": " + signature.reason;
        if (signature.result == "fail")
            out.push_back(make_finding("dkim_fail", 2, "DKIM fail for " + who + why));
        else if (signature.result == "permerror" || signature.result == "neutral")
            out.push_back(make_finding("dkim_permerror", 1, "DKIM " + signature.result +
                                                               " for " + who + why));
        else if (signature.result == "policy")
            out.push_back(make_finding("dkim_policy", 1, "DKIM policy for " + who + why));
        else if (signature.result == "temperror")
            out.push_back(make_finding("dkim_temperror", 0, "DKIM temperror for " + who + why));

        if (signature.unsigned_body_bytes > 0) {
            out.push_back(make_finding(
                "dkim_unsigned_content", 3,
                std::to_string(signature.unsigned_body_bytes) +
                    " body bytes after the l= length of " + who + " are not signed"));
        }
    }
}

void dmarc_findings(const auth::DmarcOutcome& dmarc, std::vector<Finding>& out)
{
    std::string detail = "DMARC " + dmarc.result + " for " + dmarc.domain;
    if (!dmarc.policy.empty())
        detail += " (p=" + dmarc.policy + ", disposition " + dmarc.disposition + ")";
    if (!dmarc.reason.empty())
        detail += ": " + dmarc.reason;

    if (dmarc.result == "fail") {
        if (dmarc.disposition == "reject") {
            Finding finding = make_finding("dmarc_reject", 10, detail);
            finding.hard_action = Action::reject;
            out.push_back(std::move(finding));
        } else if (dmarc.disposition == "quarantine") {
            Finding finding = make_finding("dmarc_quarantine", 5, detail);
            finding.hard_action = Action::quarantine;
            out.push_back(std::move(finding));
        } else {
            out.push_back(make_finding("dmarc_fail", 2, detail));
        }
    } else if (dmarc.result == "permerror") {
        out.push_back(make_finding("dmarc_permerror", 1, detail));
    } else if (dmarc.result == "temperror") {
        out.push_back(make_finding("dmarc_temperror", 0, detail));
    }
}

// A temporary DNS failure matters when it could change the outcome: DMARC itself could not be
// evaluated, or SPF/DKIM failed temporarily and DMARC did not pass without them.
bool temporary_failure_matters(const Verdict& verdict)
{
    if (verdict.dmarc.result == "temperror")
        return true;
    if (verdict.dmarc.result == "pass")
        return false;
    if (verdict.spf.result == "temperror")
        return true;
    for (const auto& signature : verdict.dkim) {
        if (signature.result == "temperror")
            return true;
    }
    return false;
}

class AuthLayer final : public Layer {
public:
    explicit AuthLayer(Services& services) : services_(services) {}

    std::string_view name() const override { return "auth"; }

    void run(Context& context, std::vector<Finding>& findings) override
    {
        Verdict& verdict = context.verdict;
        verdict.spf = services_.spf.check(context.envelope);
        verdict.dkim = services_.dkim.verify(context.message);

        std::string sampling_key = context.message.message_id();
        verdict.dmarc = services_.dmarc.evaluate(context.message, verdict.spf, verdict.dkim,
                                                 sampling_key);

        spf_findings(verdict.spf, context, findings);
        dkim_findings(verdict.dkim, findings);
        dmarc_findings(verdict.dmarc, findings);

        if (temporary_failure_matters(verdict))
            context.dns_temporary_failure = true;
    }

private:
    Services& services_;
};

}  // namespace

std::unique_ptr<Layer> make_auth_layer(Services& services)
{
    return std::make_unique<AuthLayer>(services);
}

}  // namespace relaygate::checks
