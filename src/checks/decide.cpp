// From findings to one action: policy weights and hard actions, then thresholds.
#include <algorithm>
#include <cstdio>
#include <string>

#include "relaygate/checks.hpp"

namespace relaygate::checks {
namespace {

std::string format_score(double score)
{
    char text[32];
    std::snprintf(text, sizeof text, "%.1f", score);
    return text;
}

// Applies the policy's per-finding weights and hard actions to every finding and recomputes
// the layer and total scores.
void apply_policy(const Policy& policy, Verdict& verdict)
{
    verdict.score = 0;
    for (auto& layer : verdict.layers) {
        layer.score = 0;
        for (auto& finding : layer.findings) {
            if (auto weight = policy.weights.find(finding.id); weight != policy.weights.end())
                finding.score = weight->second;
            if (auto action = policy.actions.find(finding.id); action != policy.actions.end())
                finding.hard_action = parse_action(action->second);
            layer.score += finding.score;
        }
        verdict.score += layer.score;
    }
}

// The finding with the most severe hard action; among equals the first in run order.
const Finding* deciding_hard_finding(const Verdict& verdict)
{
    const Finding* decider = nullptr;
    for (const auto& layer : verdict.layers) {
        for (const auto& finding : layer.findings) {
            if (!finding.hard_action)
                continue;
            if (!decider || more_severe(*decider->hard_action, *finding.hard_action) !=
                                *decider->hard_action)
                decider = &finding;
        }
    }
    return decider;
}

// The highest-scoring finding, named in a threshold decision.
const Finding* top_scoring_finding(const Verdict& verdict)
{
    const Finding* top = nullptr;
    for (const auto& layer : verdict.layers) {
        for (const auto& finding : layer.findings) {
            if (!top || finding.score > top->score)
                top = &finding;
        }
    }
    return top;
}

}  // namespace

void decide(const Policy& policy, Verdict& verdict, bool dns_temporary_failure)
{
    apply_policy(policy, verdict);

    if (const Finding* decider = deciding_hard_finding(verdict)) {
        verdict.action = *decider->hard_action;
        verdict.reason = decider->id + ": " + decider->detail;
    } else {
        // The reason leads with the finding that weighed most, so that it names what decided.
        const Finding* top = top_scoring_finding(verdict);
        std::string top_text = top && top->score > 0 ? top->id + ": " + top->detail + " " : "";
        std::string total = "score " + format_score(verdict.score);
        if (verdict.score >= policy.thresholds.reject) {
            verdict.action = Action::reject;
            verdict.reason = top_text + "(" + total + " >= reject threshold " +
                             format_score(policy.thresholds.reject) + ")";
        } else if (verdict.score >= policy.thresholds.quarantine) {
            verdict.action = Action::quarantine;
            verdict.reason = top_text + "(" + total + " >= quarantine threshold " +
                             format_score(policy.thresholds.quarantine) + ")";
        } else {
            verdict.action = Action::accept;
            verdict.reason = total + " below thresholds";
        }
    }

    // A temporary DNS failure that could change the outcome is retried, not judged; only a
    // reject decided without it stands.
    if (dns_temporary_failure && verdict.action != Action::reject) {
        verdict.action = Action::tempfail;
        verdict.reason = "temporary DNS failure: " + verdict.reason;
    }
}

}  // namespace relaygate::checks
