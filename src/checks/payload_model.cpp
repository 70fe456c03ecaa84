// The payload layer's model finding: the shared model (policy payload.model, else the bundled
// default, see model::default_model_candidates) scores the decoded message.
#include "checks/payload_model.hpp"

#include "checks/findings.hpp"

#include <cstdio>
#include <mutex>

#include "relaygate/model.hpp"

namespace relaygate::checks {

namespace {

std::string probability_text(double probability)
{
    char text[16];
    std::snprintf(text, sizeof text, "%.3f", probability);
    return text;
}

}  // namespace

std::optional<Finding> model_finding(const Message& message, const mime::WalkResult& walk,
                                     const Policy& policy)
{
    std::shared_ptr<const model::Model> model;
    try {
        model = model::shared_model(policy.payload.model);
    } catch (const model::Error& error) {
        // A missing or broken model must not stop mail: said in every verdict, scored 0, and
        // once on stderr so that an administrator notices.
        static std::once_flag warned;
        std::call_once(warned, [&] {
            std::fprintf(stderr, "relaygate: warning: %s -- checking without the model\n",
                         error.what());
        });
        return scored_finding(policy, "payload", "model_unavailable", error.what());
    }

    double probability = model->score(message, walk);
    if (!model->is_spam(probability)) {
        return std::nullopt;
    }
    double score = model::finding_score(probability, model->info().threshold);
    return scored_finding(policy, "payload", "model_spam",
                          "spam probability " + probability_text(probability), score);
}

}  // namespace relaygate::checks
