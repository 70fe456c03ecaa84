// model — the statistical spam/phishing model of the payload layer: the decoded text of every
// text part (HTML without its tags) and a few header features, turned into hashed unigram and
// bigram features and scored by logistic regression; training with a decision threshold tuned
// by cross-validation on the training messages only, evaluation, and a versioned, checksummed
// model file.
//
// Why logistic regression and not multinomial naive Bayes: naive Bayes treats overlapping
// unigrams and bigrams (and the header features beside them) as independent evidence, so its
// probabilities pile up near 0 and 1 and the ranking of borderline messages suffers, which is
// exactly where a false-positive rate of 0.5% is decided. Logistic regression weighs correlated
// features jointly, its probability is usable as a score, and over hashed features its model is
// one weight per bucket (a small file). Training is a few passes of AdaGrad over sparse vectors:
// well under a second for thousands of messages; reading and decoding the mail is the cost.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "relaygate/message.hpp"
#include "relaygate/mime.hpp"

namespace relaygate::model {

// Every problem with a model file or with training input that ends the operation: one
// lowercase line naming the file ("model.bin: truncated at byte 812").
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The model file format this relaygate writes and reads.
inline constexpr std::uint32_t format_version = 1;

// Hashing bounds a model file accepts (2^10 .. 2^22 buckets).
inline constexpr unsigned min_hash_bits = 10;
inline constexpr unsigned max_hash_bits = 22;

struct FeatureConfig {
    unsigned hash_bits = 20;  // features are hashed into 2^hash_bits buckets
    bool bigrams = true;      // pairs of adjacent words besides single words
};

// ---- Features ---------------------------------------------------------------------------

// Words of a text, ASCII-lowercased: runs of letters, digits, bytes >= 0x80 (UTF-8), '$', and
// '.', '-', '\'', '@', '_' inside a word ("e-mail", "$19.99", "bob@example.com"). Words of one
// byte are dropped; words longer than max_word_bytes become the single word "<long>".
inline constexpr std::size_t max_word_bytes = 40;
std::vector<std::string> tokenize(std::string_view text);

// HTML reduced to what a reader sees: text without tags, comments, <script> and <style>; the
// common entities decoded; plus the names of the tags used and the href/src URLs. Linear in
// the input and never recursive, so hostile HTML costs no more than its length.
struct HtmlText {
    std::string text;
    std::vector<std::string> tags;  // lowercase element names, in order
    std::vector<std::string> links; // href= and src= values, as written
};
HtmlText strip_html(std::string_view html);

// Stable 64-bit hash of a token within a namespace ("b" body, "s" subject, "h" header ...),
// the same on every platform and in every version of this format.
std::uint64_t hash_token(std::string_view name_space, std::string_view token);

// A message's features form two blocks: its text (namespaces "b" body words, "t" HTML tags,
// "u" link hosts) and its header (every other namespace). Each block is scaled to length 1
// on its own, so that a long body does not drown the header, and the header block then weighs
// header_block_weight (chosen on a development split of the training part, never on the test
// part: bench/model/README.md).
inline constexpr double header_block_weight = 1.5;

// One message as the classifier sees it: distinct buckets in increasing order with their
// values (log(1 + count) per block, scaled as above; a bucket in both blocks adds up).
struct FeatureVector {
    std::vector<std::uint32_t> buckets;
    std::vector<float> values;
};

// Collects namespaced tokens and produces the FeatureVector.
class FeatureBuilder {
public:
    explicit FeatureBuilder(const FeatureConfig& config);

    void add(std::string_view name_space, std::string_view token);
    // Words of text as unigrams and, when configured and with_pairs, bigrams.
    void add_text(std::string_view name_space, std::string_view text, bool with_pairs = true);
    FeatureVector finish() const;

private:
    enum class Block : std::uint8_t { text, header };
    static Block block_of(std::string_view name_space);
    void add_hash(std::uint64_t hash, Block block);

    FeatureConfig config_;
    // One entry per occurrence, the block in bit 32 above the bucket; folded in finish().
    std::vector<std::uint64_t> occurrences_;
};

// Features of a parsed, walked message: the body words of every text part, Subject words,
// From domain and display name, mailer, header field names, part types, HTML-only, link count
// and link hosts, attachment kinds. Bounded work per message (max_text_bytes of text).
inline constexpr std::size_t max_text_bytes = 256u << 10;
FeatureVector extract_features(const Message& message, const mime::WalkResult& walk,
                               const FeatureConfig& config);

// ---- Model ------------------------------------------------------------------------------

struct ModelInfo {
    std::uint32_t format_version = model::format_version;
    FeatureConfig features;
    std::uint64_t spam_messages = 0;  // trained on
    std::uint64_t ham_messages = 0;
    std::string trained_at;           // UTC, "2025-01-31T12:00:00Z"
    double threshold = 0.5;           // probability at and above which a message is spam
    double cv_recall = 0;             // cross-validated on the training messages when the
    double cv_false_positive_rate = 0;// threshold was tuned
    std::uint64_t nonzero_weights = 0;
};

class Model {
public:
    Model() = default;

    // Probability in [0, 1] that the message is spam. Thread-safe (const, no caches).
    double score(const Message& message, const mime::WalkResult& walk) const;
    double score(const FeatureVector& features) const;
    bool is_spam(double probability) const { return probability >= info_.threshold; }

    const ModelInfo& info() const { return info_; }

    // The file format: see model_file.cpp. Throw Error naming the path.
    void save(const std::string& path) const;
    static Model load(const std::string& path);
    // The same on bytes; name is used in error messages.
    std::string serialize() const;
    static Model deserialize(std::string_view bytes, std::string_view name);

private:
    friend class Trainer;

    // Weights are whole multiples of weight_scale_ (16-bit steps), as the file stores them,
    // so that a loaded model scores exactly as the one that was saved.
    void quantize_weights();

    ModelInfo info_;
    double bias_ = 0;
    double weight_scale_ = 0;
    std::vector<float> weights_;  // 2^hash_bits, dense
};

// ---- Training and evaluation ------------------------------------------------------------

struct TrainOptions {
    FeatureConfig features;
    unsigned epochs = 10;
    double learning_rate = 0.5;    // AdaGrad step
    double l2 = 1e-6;              // per-update weight decay on the features touched
    unsigned folds = 5;            // cross-validation inside the training set; < 2: no tuning
    double target_false_positive_rate = 0.002;  // the threshold keeps CV ham FPR at or below
    std::uint64_t seed = 1;        // order of the training passes (results are reproducible)
    unsigned min_messages = 1;     // a feature in fewer training messages gets no weight
                                   // (2 makes the file 2.5 times smaller, but costs recall)
};

// Trains on feature vectors (labels given by the two lists) and tunes the threshold by
// cross-validation over the same vectors. Throws Error when either list is empty.
Model train(const std::vector<FeatureVector>& spam, const std::vector<FeatureVector>& ham,
            const TrainOptions& options);

// What reading labelled inputs produced.
struct ReadReport {
    std::uint64_t spam_messages = 0;
    std::uint64_t ham_messages = 0;
    std::vector<std::string> problems;  // unreadable inputs and messages, one line each
};

// Features of every message in the inputs (any input `check` takes: files, mbox, Maildir,
// directories, "-"), read one message at a time with MessageStream; uses up to `threads`
// threads (0: the hardware's count).
std::vector<FeatureVector> read_features(const std::vector<std::string>& paths,
                                         const FeatureConfig& config,
                                         std::vector<std::string>& problems,
                                         unsigned threads = 0);

// `relaygate train --spam PATH... --ham PATH... -o MODEL`:
//     ReadReport report;
//     Model m = model::train_paths(spam, ham, {}, report);   // Error: no spam / no ham read
//     m.save(output);                                         // Error: cannot write
//     print model::describe(m.info()) and report.problems (warnings), exit 0.
Model train_paths(const std::vector<std::string>& spam_paths,
                  const std::vector<std::string>& ham_paths, const TrainOptions& options,
                  ReadReport& report);

struct Evaluation {
    std::uint64_t true_positives = 0;   // spam called spam
    std::uint64_t false_negatives = 0;  // spam called ham
    std::uint64_t false_positives = 0;  // ham called spam
    std::uint64_t true_negatives = 0;   // ham called ham
    std::vector<std::string> problems;  // inputs that could not be read

    double precision() const;            // TP / (TP + FP), 0 when nothing was called spam
    double recall() const;               // TP / (TP + FN), 0 with no spam
    double false_positive_rate() const;  // FP / (FP + TN), 0 with no ham
    double accuracy() const;             // (TP + TN) / all, 0 with nothing
};

Evaluation evaluate(const Model& model, const std::vector<FeatureVector>& spam,
                    const std::vector<FeatureVector>& ham);

// `relaygate model eval --spam PATH... --ham PATH... [--model MODEL]`:
//     Model m = Model::load(path);  Evaluation e = model::evaluate_paths(m, spam, ham);
//     print model::describe(e); exit 0 (3 when problems is non-empty and nothing was read).
Evaluation evaluate_paths(const Model& model, const std::vector<std::string>& spam_paths,
                          const std::vector<std::string>& ham_paths);

// `relaygate model info MODEL`: print model::describe(Model::load(path).info()).
// Both describe() give "key: value" lines for people, ending in a newline.
std::string describe(const ModelInfo& info);
std::string describe(const Evaluation& evaluation);

// ---- The model the payload layer uses ----------------------------------------------------

// Where the model is looked for when the policy names none (payload.model empty), first found
// wins: $RELAYGATE_MODEL; <executable dir>/../share/relaygate/default.model (installed);
// <executable dir>/../models/default.model and <executable dir>/../../models/default.model (a
// build directory inside the source tree, and its tests/ folder).
std::vector<std::string> default_model_candidates();

// The model at configured (payload.model), or the first default candidate when it is empty;
// loaded once per path for the whole process, thread-safe. Throws Error, also on later calls
// ("no model file found: looked in ...", or the load error of that file).
std::shared_ptr<const Model> shared_model(const std::string& configured);

// The finding score of a probability: none (0) under the model's threshold; from
// min_finding_score at the threshold, rising linearly in log-odds to max_finding_score at
// full_score_probability and above. The low end is half the default quarantine threshold: the
// model alone quarantines only what it is sure of (about 0.97 and above with the shipped
// model), because it was trained on mail of 2002 and a borderline score on today's short
// transactional mail (a receipt scored 0.86) is not enough to hold it; with other evidence
// (an SPF fail, a lookalike domain) a borderline score does tip the balance.
inline constexpr double min_finding_score = 2.5;
inline constexpr double max_finding_score = 8;
inline constexpr double full_score_probability = 0.999;
double finding_score(double probability, double threshold);

// The split used to measure the shipped model (bench/model/README.md): a corpus file is in the
// test part when FNV-1a-64 of its file name (no directory) is 0 mod 5, else in the train part.
bool in_test_split(std::string_view file_name);

}  // namespace relaygate::model
