// How every layer makes a finding: its weight and hard action from the policy, else from the
// finding catalog (src/policy/policy_defaults.cpp); and how untrusted text is shown in one.
#pragma once

#include <string>
#include <string_view>

#include "relaygate/policy.hpp"
#include "relaygate/verdict.hpp"

namespace relaygate::checks {

// A finding scored by policy.weights, else the catalog, with its hard action from
// policy.actions, else the catalog.
Finding scored_finding(const Policy& policy, std::string_view layer, std::string_view id,
                       std::string detail);

// The same with a weight of the finding's own (a blocklist zone's weight for its return code,
// the model's score for its probability); policy.weights still wins.
Finding scored_finding(const Policy& policy, std::string_view layer, std::string_view id,
                       std::string detail, double weight);

}  // namespace relaygate::checks
