// The findings of the payload layer's URL and attachment checks (ids, default weights and
// meanings are in the finding catalog, src/policy/policy_defaults.cpp), and how one is made.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "relaygate/policy.hpp"
#include "relaygate/verdict.hpp"

namespace relaygate::checks {

// A payload finding with its weight: the policy's, else the catalog's (finding_catalog); its
// hard action from the policy or catalog.
Finding payload_finding(const Policy& policy, std::string_view id, std::string detail);

// The same with a weight of the finding's own (a blocklist zone's weight for its return code);
// a weight in the policy still wins.
Finding payload_finding(const Policy& policy, std::string_view id, std::string detail,
                        double weight);

// Attacker text shown in a detail is cut to this many bytes.
constexpr std::size_t kMaxDetailTextBytes = 100;
std::string shorten(std::string_view text);

}  // namespace relaygate::checks
