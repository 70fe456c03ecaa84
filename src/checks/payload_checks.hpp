// The payload layer's own checks over one message, without the model: what
// make_payload_layer runs before it asks the model (and what tests run on samples).
#pragma once

#include <vector>

#include "relaygate/dns.hpp"
#include "relaygate/message.hpp"
#include "relaygate/mime.hpp"
#include "relaygate/policy.hpp"
#include "relaygate/verdict.hpp"

namespace relaygate::checks {

// The MIME walk under the policy's payload limits.
mime::WalkResult walk_payload(const Message& message, const Policy& policy);

// Findings for the walk's limits and defects, links and attachments; sets
// dns_temporary_failure when a URI blocklist lookup failed temporarily.
void check_payload(const mime::WalkResult& walk, const Policy& policy, dns::Resolver& resolver,
                   std::vector<Finding>& findings, bool& dns_temporary_failure);

}  // namespace relaygate::checks
