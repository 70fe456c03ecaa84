// The model of the payload layer: found once, loaded once per path, shared by every thread;
// and its probability mapped to a finding score.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <variant>

#include "relaygate/model.hpp"

namespace relaygate::model {

namespace {

std::filesystem::path executable_directory()
{
    std::error_code error;
    std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
    return error ? std::filesystem::path() : self.parent_path();
}

// The first candidate that exists; throws Error listing them all when none does.
std::string find_default_model()
{
    std::vector<std::string> candidates = default_model_candidates();
    std::string looked;
    for (const std::string& candidate : candidates) {
        std::error_code error;
        if (std::filesystem::is_regular_file(candidate, error)) {
            return candidate;
        }
        looked += (looked.empty() ? "" : ", ") + candidate;
    }
    throw Error("no model file found: looked in " + looked);
}

// What loading one path gave: the model, or the error to repeat on every later call.
using LoadOutcome = std::variant<std::shared_ptr<const Model>, std::string>;

LoadOutcome load_outcome(const std::string& configured)
{
    try {
        std::string path = configured.empty() ? find_default_model() : configured;
        return std::make_shared<const Model>(Model::load(path));
    } catch (const Error& error) {
        return std::string(error.what());
    }
}

double logit(double p)
{
    return std::log(p / (1 - p));
}

}  // namespace

std::vector<std::string> default_model_candidates()
{
    std::vector<std::string> candidates;
    if (const char* variable = std::getenv("RELAYGATE_MODEL"); variable && *variable) {
        candidates.emplace_back(variable);
    }
    std::filesystem::path directory = executable_directory();
    if (!directory.empty()) {
        for (const char* relative : {"../share/relaygate/default.model",
                                     "../models/default.model", "../../models/default.model"}) {
            candidates.push_back((directory / relative).lexically_normal().string());
        }
    }
    return candidates;
}

std::shared_ptr<const Model> shared_model(const std::string& configured)
{
    // Each thread remembers the model it was last given, so that scoring a message takes no
    // lock (a loaded model is never replaced).
    thread_local std::string last_configured;
    thread_local std::shared_ptr<const Model> last_model;
    if (last_model && configured == last_configured) {
        return last_model;
    }

    // Loading happens under the lock: the first message waits for it once, the others find it
    // done. Failures are kept too, so that a missing file is not searched for per message.
    static std::mutex lock;
    static std::map<std::string, LoadOutcome> loaded;
    std::lock_guard guard(lock);
    auto found = loaded.find(configured);
    if (found == loaded.end()) {
        found = loaded.emplace(configured, load_outcome(configured)).first;
    }
    if (const auto* error = std::get_if<std::string>(&found->second)) {
        throw Error(*error);
    }
    last_configured = configured;
    last_model = std::get<std::shared_ptr<const Model>>(found->second);
    return last_model;
}

double finding_score(double probability, double threshold)
{
    if (!(probability >= threshold)) {
        return 0;
    }
    if (threshold >= full_score_probability) {
        return max_finding_score;
    }
    // Log-odds stay finite: the classifier's probabilities are clamped inside (0, 1).
    double low = logit(std::max(threshold, 1e-9));
    double high = logit(full_score_probability);
    double p = std::min(probability, full_score_probability);
    double position = std::clamp((logit(p) - low) / (high - low), 0.0, 1.0);
    return min_finding_score + position * (max_finding_score - min_finding_score);
}

}  // namespace relaygate::model
