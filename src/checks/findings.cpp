// Findings scored by the policy and the finding catalog.
#include "checks/findings.hpp"

namespace relaygate::checks {

Finding scored_finding(const Policy& policy, std::string_view layer, std::string_view id,
                       std::string detail)
{
    return scored_finding(policy, layer, id, std::move(detail), finding_weight(policy, id));
}

Finding scored_finding(const Policy& policy, std::string_view layer, std::string_view id,
                       std::string detail, double weight)
{
    Finding finding;
    finding.layer = std::string(layer);
    finding.id = std::string(id);
    finding.detail = std::move(detail);
    auto configured = policy.weights.find(finding.id);
    finding.score = configured != policy.weights.end() ? configured->second : weight;
    finding.hard_action = parse_action(finding_action(policy, id));
    return finding;
}

}  // namespace relaygate::checks
