// Logistic regression over hashed features: AdaGrad training, the decision threshold tuned by
// cross-validation on the training set, scoring and evaluation.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <numeric>
#include <random>
#include <sstream>

#include "relaygate/model.hpp"

namespace relaygate::model {

namespace {

// Logits are clamped so that exp() never overflows and probabilities stay inside (0, 1).
constexpr double max_logit = 35;

double sigmoid(double z)
{
    z = std::clamp(z, -max_logit, max_logit);
    return 1.0 / (1.0 + std::exp(-z));
}

double dot(const std::vector<float>& weights, double bias, const FeatureVector& features)
{
    double z = bias;
    for (std::size_t i = 0; i < features.buckets.size(); ++i) {
        z += static_cast<double>(weights[features.buckets[i]]) * features.values[i];
    }
    return z;
}

struct Example {
    const FeatureVector* features;
    bool spam;
};

// The training date; SOURCE_DATE_EPOCH (reproducible builds) fixes it, so that the same mail
// gives a byte-identical model file.
std::string training_date()
{
    std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    if (const char* fixed = std::getenv("SOURCE_DATE_EPOCH"); fixed && *fixed) {
        char* end = nullptr;
        long long seconds = std::strtoll(fixed, &end, 10);
        if (*end == '\0' && seconds >= 0) {
            now = static_cast<std::time_t>(seconds);
        }
    }
    std::tm parts{};
    gmtime_r(&now, &parts);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
    return text;
}

}  // namespace

// Builds Models; the friend of Model that may set its weights.
class Trainer {
public:
    explicit Trainer(const TrainOptions& options) : options_(options) {}

    // Fits weights to the examples (AdaGrad on the log loss, L2 decay on touched weights).
    Model fit(std::vector<Example> examples) const
    {
        std::size_t buckets = std::size_t{1} << options_.features.hash_bits;
        Model model;
        model.info_.features = options_.features;
        model.weights_.assign(buckets, 0.0f);
        std::vector<bool> trainable = frequent_buckets(examples, buckets);
        std::vector<float> squared_gradients(buckets, 0.0f);
        double bias_squared_gradients = 0;
        constexpr double epsilon = 1e-8;

        std::mt19937_64 shuffle_random(options_.seed);
        for (unsigned epoch = 0; epoch < options_.epochs; ++epoch) {
            std::shuffle(examples.begin(), examples.end(), shuffle_random);
            for (const Example& example : examples) {
                const FeatureVector& x = *example.features;
                double error = sigmoid(dot(model.weights_, model.bias_, x)) -
                               (example.spam ? 1.0 : 0.0);
                for (std::size_t i = 0; i < x.buckets.size(); ++i) {
                    if (!trainable[x.buckets[i]]) {
                        continue;
                    }
                    float& weight = model.weights_[x.buckets[i]];
                    float& history = squared_gradients[x.buckets[i]];
                    double gradient = error * x.values[i] + options_.l2 * weight;
                    history += static_cast<float>(gradient * gradient);
                    weight -= static_cast<float>(options_.learning_rate * gradient /
                                                 std::sqrt(history + epsilon));
                }
                bias_squared_gradients += error * error;
                model.bias_ -= options_.learning_rate * error /
                               std::sqrt(bias_squared_gradients + epsilon);
            }
        }

        return model;
    }

    // The whole training: cross-validated threshold, then the final fit on everything.
    Model train(const std::vector<FeatureVector>& spam,
                const std::vector<FeatureVector>& ham) const
    {
        std::vector<Example> examples = label(spam, ham);
        double threshold = 0.5;
        double cv_recall = 0;
        double cv_fpr = 0;
        if (options_.folds >= 2) {
            tune_threshold(examples, threshold, cv_recall, cv_fpr);
        }

        Model model = fit(examples);
        model.quantize_weights();
        model.info_.spam_messages = spam.size();
        model.info_.ham_messages = ham.size();
        model.info_.trained_at = training_date();
        model.info_.threshold = threshold;
        model.info_.cv_recall = cv_recall;
        model.info_.cv_false_positive_rate = cv_fpr;
        model.info_.nonzero_weights = static_cast<std::uint64_t>(std::count_if(
            model.weights_.begin(), model.weights_.end(), [](float w) { return w != 0; }));
        return model;
    }

private:
    // The buckets present in at least min_messages of the examples.
    std::vector<bool> frequent_buckets(const std::vector<Example>& examples,
                                       std::size_t buckets) const
    {
        std::vector<std::uint16_t> messages(buckets, 0);
        for (const Example& example : examples) {
            for (std::uint32_t bucket : example.features->buckets) {
                if (messages[bucket] < UINT16_MAX) {
                    ++messages[bucket];
                }
            }
        }
        std::vector<bool> frequent(buckets);
        for (std::size_t bucket = 0; bucket < buckets; ++bucket) {
            frequent[bucket] = messages[bucket] >= options_.min_messages;
        }
        return frequent;
    }

    static std::vector<Example> label(const std::vector<FeatureVector>& spam,
                                      const std::vector<FeatureVector>& ham)
    {
        std::vector<Example> examples;
        examples.reserve(spam.size() + ham.size());
        for (const FeatureVector& features : spam) {
            examples.push_back({&features, true});
        }
        for (const FeatureVector& features : ham) {
            examples.push_back({&features, false});
        }
        return examples;
    }

    // Scores every example with a model that did not see it (k folds, example i in fold
    // i mod k), then picks the lowest threshold whose ham false-positive rate stays at or below
    // the target: the most spam caught for the false positives we accept.
    void tune_threshold(const std::vector<Example>& examples, double& threshold,
                        double& recall, double& fpr) const
    {
        std::vector<double> spam_scores;
        std::vector<double> ham_scores;
        for (unsigned fold = 0; fold < options_.folds; ++fold) {
            std::vector<Example> training;
            std::vector<Example> held_out;
            for (std::size_t i = 0; i < examples.size(); ++i) {
                (i % options_.folds == fold ? held_out : training).push_back(examples[i]);
            }
            Model model = fit(training);
            for (const Example& example : held_out) {
                (example.spam ? spam_scores : ham_scores).push_back(
                    model.score(*example.features));
            }
        }

        std::sort(ham_scores.begin(), ham_scores.end(), std::greater<>());
        auto allowed = static_cast<std::size_t>(
            std::floor(options_.target_false_positive_rate *
                       static_cast<double>(ham_scores.size())));
        // Just above the highest ham score that must not be called spam, never under 0.5.
        threshold = 0.5;
        if (allowed < ham_scores.size()) {
            threshold = std::max(threshold, std::nextafter(ham_scores[allowed], 1.0));
        }
        threshold = std::min(threshold, 1.0);

        auto caught = std::count_if(spam_scores.begin(), spam_scores.end(),
                                    [&](double p) { return p >= threshold; });
        auto false_alarms = std::count_if(ham_scores.begin(), ham_scores.end(),
                                          [&](double p) { return p >= threshold; });
        recall = spam_scores.empty() ? 0 : static_cast<double>(caught) /
                                               static_cast<double>(spam_scores.size());
        fpr = ham_scores.empty() ? 0 : static_cast<double>(false_alarms) /
                                           static_cast<double>(ham_scores.size());
    }

    TrainOptions options_;
};

void Model::quantize_weights()
{
    float largest = 0;
    for (float weight : weights_) {
        largest = std::max(largest, std::fabs(weight));
    }
    weight_scale_ = largest > 0 ? largest / static_cast<double>(INT16_MAX) : 1.0;
    for (float& weight : weights_) {
        weight = static_cast<float>(std::round(weight / weight_scale_) * weight_scale_);
    }
}

double Model::score(const FeatureVector& features) const
{
    if (weights_.empty()) {
        return 0.5;
    }
    return sigmoid(dot(weights_, bias_, features));
}

Model train(const std::vector<FeatureVector>& spam, const std::vector<FeatureVector>& ham,
            const TrainOptions& options)
{
    if (spam.empty() || ham.empty()) {
        throw Error(spam.empty() ? "no spam messages to train on" : "no ham messages to train on");
    }
    if (options.features.hash_bits < min_hash_bits || options.features.hash_bits > max_hash_bits) {
        throw Error("hash bits must be between " + std::to_string(min_hash_bits) + " and " +
                    std::to_string(max_hash_bits));
    }
    return Trainer(options).train(spam, ham);
}

Evaluation evaluate(const Model& model, const std::vector<FeatureVector>& spam,
                    const std::vector<FeatureVector>& ham)
{
    Evaluation result;
    for (const FeatureVector& features : spam) {
        ++(model.is_spam(model.score(features)) ? result.true_positives
                                                : result.false_negatives);
    }
    for (const FeatureVector& features : ham) {
        ++(model.is_spam(model.score(features)) ? result.false_positives
                                                : result.true_negatives);
    }
    return result;
}

namespace {

double ratio(std::uint64_t part, std::uint64_t whole)
{
    return whole == 0 ? 0 : static_cast<double>(part) / static_cast<double>(whole);
}

std::string percent(double fraction)
{
    std::ostringstream text;
    text.setf(std::ios::fixed);
    text.precision(2);
    text << fraction * 100 << "%";
    return text.str();
}

}  // namespace

double Evaluation::precision() const
{
    return ratio(true_positives, true_positives + false_positives);
}

double Evaluation::recall() const
{
    return ratio(true_positives, true_positives + false_negatives);
}

double Evaluation::false_positive_rate() const
{
    return ratio(false_positives, false_positives + true_negatives);
}

double Evaluation::accuracy() const
{
    return ratio(true_positives + true_negatives,
                 true_positives + true_negatives + false_positives + false_negatives);
}

std::string describe(const ModelInfo& info)
{
    std::ostringstream text;
    text << "format: " << info.format_version << "\n"
         << "classifier: logistic regression over hashed words and word pairs\n"
         << "features: 2^" << info.features.hash_bits << " buckets, "
         << (info.features.bigrams ? "unigrams and bigrams" : "unigrams") << "\n"
         << "nonzero weights: " << info.nonzero_weights << "\n"
         << "trained on: " << info.spam_messages << " spam, " << info.ham_messages << " ham\n"
         << "trained at: " << info.trained_at << "\n"
         << "threshold: " << info.threshold << "\n"
         << "cross-validated recall: " << percent(info.cv_recall) << "\n"
         << "cross-validated false-positive rate: " << percent(info.cv_false_positive_rate)
         << "\n";
    return text.str();
}

std::string describe(const Evaluation& e)
{
    std::ostringstream text;
    text << "spam: " << e.true_positives + e.false_negatives << " (caught "
         << e.true_positives << ", missed " << e.false_negatives << ")\n"
         << "ham: " << e.false_positives + e.true_negatives << " (passed " << e.true_negatives
         << ", flagged " << e.false_positives << ")\n"
         << "precision: " << percent(e.precision()) << "\n"
         << "recall: " << percent(e.recall()) << "\n"
         << "false-positive rate: " << percent(e.false_positive_rate()) << "\n"
         << "accuracy: " << percent(e.accuracy()) << "\n";
    return text.str();
}

}  // namespace relaygate::model
