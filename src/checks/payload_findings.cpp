// Payload findings, scored from the policy and the finding catalog (every payload id with its
// default weight and meaning is in src/policy/policy_defaults.cpp and in the man page).
#include "checks/payload_findings.hpp"

#include "checks/findings.hpp"

namespace relaygate::checks {

Finding payload_finding(const Policy& policy, std::string_view id, std::string detail,
                        double weight)
{
    return scored_finding(policy, "payload", id, std::move(detail), weight);
}

Finding payload_finding(const Policy& policy, std::string_view id, std::string detail)
{
    return scored_finding(policy, "payload", id, std::move(detail));
}

std::string shorten(std::string_view text)
{
    if (text.size() <= kMaxDetailTextBytes) return std::string(text);
    return std::string(text.substr(0, kMaxDetailTextBytes)) + "...";
}

}  // namespace relaygate::checks
