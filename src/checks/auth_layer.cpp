// The auth layer: SPF, DKIM and DMARC through the auth adapters, their outcomes recorded in
// the verdict and turned into findings (spf_*, dkim_*, dmarc_*: their weights, hard actions
// and meanings are in the finding catalog, src/policy/policy_defaults.cpp).
#include "checks/findings.hpp"
#include "relaygate/checks.hpp"

namespace relaygate::checks {
namespace {

Finding make_finding(const Policy& policy, std::string_view id, std::string detail)
{
    return scored_finding(policy, "auth", id, std::move(detail));
}

void spf_findings(const Policy& policy, const auth::SpfOutcome& spf, std::vector<Finding>& out)
{
    if (spf.result != "fail" && spf.result != "softfail" && spf.result != "permerror" &&
        spf.result != "temperror")
        return;
    out.push_back(make_finding(policy, "spf_" + spf.result,
                               "SPF " + spf.result + " for " + spf.scope + " " + spf.domain +
                                   ": " + spf.reason));
}

void dkim_findings(const Policy& policy, const std::vector<auth::DkimSignatureOutcome>& signatures,
                   std::vector<Finding>& out)
{
    for (const auto& signature : signatures) {
        std::string who = "d=" + signature.domain + " s=" + signature.selector;
        std::string detail = "DKIM " + signature.result + " for " + who +
                             (signature.reason.empty() ? "" : ": " + signature.reason);
        if (signature.result == "fail" || signature.result == "policy" ||
            signature.result == "temperror" || signature.result == "permerror")
            out.push_back(make_finding(policy, "dkim_" + signature.result, detail));
        else if (signature.result == "neutral")
            out.push_back(make_finding(policy, "dkim_permerror", detail));

        if (signature.unsigned_body_bytes > 0) {
            out.push_back(make_finding(
                policy, "dkim_unsigned_content",
                std::to_string(signature.unsigned_body_bytes) +
                    " body bytes after the l= length of " + who + " are not signed"));
        }
    }
}

void dmarc_findings(const Policy& policy, const auth::DmarcOutcome& dmarc,
                    std::vector<Finding>& out)
{
    std::string detail = "DMARC " + dmarc.result + " for " + dmarc.domain;
    if (!dmarc.policy.empty())
        detail += " (p=" + dmarc.policy + ", disposition " + dmarc.disposition + ")";
    if (!dmarc.reason.empty())
        detail += ": " + dmarc.reason;

    if (dmarc.result == "fail") {
        if (dmarc.disposition == "reject" || dmarc.disposition == "quarantine")
            out.push_back(make_finding(policy, "dmarc_" + dmarc.disposition, detail));
        else
            out.push_back(make_finding(policy, "dmarc_fail", detail));
    } else if (dmarc.result == "permerror" || dmarc.result == "temperror") {
        out.push_back(make_finding(policy, "dmarc_" + dmarc.result, detail));
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

        spf_findings(context.policy, verdict.spf, findings);
        dkim_findings(context.policy, verdict.dkim, findings);
        dmarc_findings(context.policy, verdict.dmarc, findings);

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
