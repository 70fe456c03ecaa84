// Reading labelled mail for training and evaluation: messages from any input `check` takes,
// parsed, walked and turned into features on a few threads.
#include <algorithm>
#include <thread>

#include "relaygate/mailbox.hpp"
#include "relaygate/model.hpp"

namespace relaygate::model {

namespace {

// Messages held in memory at once while their features are computed.
constexpr std::size_t batch_messages = 256;

// The features of one raw message.
FeatureVector features_of(std::string bytes, const FeatureConfig& config)
{
    Message message = Message::parse(std::move(bytes));
    mime::WalkResult walk = mime::walk(message);
    return extract_features(message, walk, config);
}

// Computes the features of a batch, splitting it over threads.
void process_batch(std::vector<RawMessage>& batch, const FeatureConfig& config,
                   unsigned threads, std::vector<FeatureVector>& out)
{
    std::size_t first = out.size();
    out.resize(first + batch.size());
    auto work = [&](std::size_t begin, std::size_t step) {
        for (std::size_t i = begin; i < batch.size(); i += step) {
            out[first + i] = features_of(std::move(batch[i].bytes), config);
        }
    };
    std::vector<std::thread> workers;
    for (unsigned t = 1; t < threads; ++t) {
        workers.emplace_back(work, t, threads);
    }
    work(0, threads);
    for (std::thread& worker : workers) {
        worker.join();
    }
    batch.clear();
}

}  // namespace

double Model::score(const Message& message, const mime::WalkResult& walk) const
{
    return score(extract_features(message, walk, info_.features));
}

// TODO: Every message's features stay in memory for the training passes (about 10 KB a
// message: fine for tens of thousands, not for millions); tolerated because retraining is
// an offline step on a chosen sample of a site's mail. Streaming passes over the inputs would
// remove the limit at the cost of decoding the mail once per pass.
std::vector<FeatureVector> read_features(const std::vector<std::string>& paths,
                                         const FeatureConfig& config,
                                         std::vector<std::string>& problems, unsigned threads)
{
    if (threads == 0) {
        threads = std::max(1u, std::thread::hardware_concurrency());
    }
    std::vector<FeatureVector> features;
    std::vector<RawMessage> batch;
    MessageStream stream(paths);
    RawMessage raw;
    while (stream.next(raw)) {
        // A message cut short is still mail of its label; it is used, and the cut reported.
        if (!raw.error.empty()) {
            problems.push_back(raw.path + ": " + raw.error);
        }
        batch.push_back(std::move(raw));
        raw = RawMessage{};
        if (batch.size() == batch_messages) {
            process_batch(batch, config, threads, features);
        }
    }
    process_batch(batch, config, threads, features);
    problems.insert(problems.end(), stream.errors().begin(), stream.errors().end());
    return features;
}

Model train_paths(const std::vector<std::string>& spam_paths,
                  const std::vector<std::string>& ham_paths, const TrainOptions& options,
                  ReadReport& report)
{
    std::vector<FeatureVector> spam = read_features(spam_paths, options.features,
                                                    report.problems);
    std::vector<FeatureVector> ham = read_features(ham_paths, options.features, report.problems);
    report.spam_messages = spam.size();
    report.ham_messages = ham.size();
    return train(spam, ham, options);
}

Evaluation evaluate_paths(const Model& model, const std::vector<std::string>& spam_paths,
                          const std::vector<std::string>& ham_paths)
{
    Evaluation evaluation;
    std::vector<FeatureVector> spam = read_features(spam_paths, model.info().features,
                                                    evaluation.problems);
    std::vector<FeatureVector> ham = read_features(ham_paths, model.info().features,
                                                   evaluation.problems);
    Evaluation counts = evaluate(model, spam, ham);
    counts.problems = std::move(evaluation.problems);
    return counts;
}

}  // namespace relaygate::model
