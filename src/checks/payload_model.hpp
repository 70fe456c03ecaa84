// payload_model — the statistical model's finding for one message (src/model).
#pragma once

#include <optional>

#include "relaygate/mime.hpp"
#include "relaygate/policy.hpp"
#include "relaygate/verdict.hpp"

namespace relaygate::checks {

// "model_spam" when the model calls the message spam, scored by its probability; a zero-score
// "model_unavailable" when the model cannot be loaded; nothing for ham. Thread-safe.
std::optional<Finding> model_finding(const Message& message, const mime::WalkResult& walk,
                                     const Policy& policy);

}  // namespace relaygate::checks
