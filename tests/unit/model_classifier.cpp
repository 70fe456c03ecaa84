// Training, scoring, evaluation and the model file, on small made-up texts.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "relaygate/model.hpp"

using namespace relaygate::model;

namespace {

FeatureConfig small_config()
{
    FeatureConfig config;
    config.hash_bits = 16;
    return config;
}

FeatureVector text_features(const std::string& text)
{
    FeatureBuilder builder(small_config());
    builder.add_text("b", text);
    return builder.finish();
}

std::vector<FeatureVector> all_features(const std::vector<std::string>& texts)
{
    std::vector<FeatureVector> out;
    for (const auto& text : texts) {
        out.push_back(text_features(text));
    }
    return out;
}

const std::vector<std::string> spam_texts{
    "buy cheap viagra now limited offer click here",
    "you have won a free prize click here to claim your money",
    "cheap meds online no prescription click here buy now",
    "make money fast work from home free offer",
    "urgent verify your bank account password click here now",
    "lowest mortgage rates free quote limited offer act now",
    "free money waiting claim your prize today",
    "cheap watches replica buy now limited offer",
};
const std::vector<std::string> ham_texts{
    "the meeting is moved to thursday afternoon see agenda attached",
    "here is the patch for the build failure in the parser module",
    "can you review my pull request before the release on friday",
    "lunch tomorrow with the team at noon",
    "the kernel compiles again after the fix to the scheduler",
    "minutes of the weekly meeting and the list of open bugs",
    "please find the quarterly report draft for your comments",
    "the conference talk slides are on the wiki now",
};

TrainOptions small_options()
{
    TrainOptions options;
    options.features = small_config();
    options.folds = 0;  // too few messages to cross-validate
    return options;
}

Model tiny_model()
{
    return train(all_features(spam_texts), all_features(ham_texts), small_options());
}

std::string temp_path(const std::string& name)
{
    return (std::filesystem::temp_directory_path() /
            ("relaygate-model-test-" + std::to_string(::getpid()) + "-" + name))
        .string();
}

}  // namespace

TEST_CASE("a model trained on a tiny set separates obvious spam from obvious ham", "[model]")
{
    Model model = tiny_model();
    double spam = model.score(text_features("click here for a free offer buy cheap now"));
    double ham = model.score(text_features("the meeting agenda for the release is attached"));
    CHECK(spam > 0.5);
    CHECK(ham < 0.5);
    CHECK(model.is_spam(spam));
    CHECK_FALSE(model.is_spam(ham));
}

TEST_CASE("scores are probabilities even for empty and unknown texts", "[model]")
{
    Model model = tiny_model();
    for (const char* text : {"", "zzzz qqqq unseen words only"}) {
        double p = model.score(text_features(text));
        CHECK(p >= 0.0);
        CHECK(p <= 1.0);
    }
}

TEST_CASE("training the same data twice gives the same model", "[model]")
{
    Model a = tiny_model();
    Model b = tiny_model();
    // The date may differ by a second; the weights must not.
    CHECK(a.score(text_features("free offer")) == b.score(text_features("free offer")));
    CHECK(a.info().nonzero_weights == b.info().nonzero_weights);
}

TEST_CASE("training without spam or without ham is an error", "[model]")
{
    auto some = all_features(ham_texts);
    CHECK_THROWS_WITH(train({}, some, small_options()), "no spam messages to train on");
    CHECK_THROWS_WITH(train(some, {}, small_options()), "no ham messages to train on");
}

TEST_CASE("cross-validation tunes a threshold that keeps training false positives low",
          "[model]")
{
    // Twenty of each, varied enough that every fold sees both kinds.
    std::vector<std::string> spam;
    std::vector<std::string> ham;
    for (int i = 0; i < 20; ++i) {
        spam.push_back(spam_texts[i % spam_texts.size()] + " offer" + std::to_string(i));
        ham.push_back(ham_texts[i % ham_texts.size()] + " note" + std::to_string(i));
    }
    TrainOptions options = small_options();
    options.folds = 5;
    options.target_false_positive_rate = 0;
    Model model = train(all_features(spam), all_features(ham), options);
    CHECK(model.info().threshold >= 0.5);
    CHECK(model.info().threshold <= 1.0);
    CHECK(model.info().cv_false_positive_rate == 0);
    CHECK(model.info().cv_recall > 0.5);
}

TEST_CASE("evaluation counts and rates are computed from the confusion matrix", "[model]")
{
    Evaluation e;
    e.true_positives = 97;
    e.false_negatives = 3;
    e.false_positives = 1;
    e.true_negatives = 199;
    CHECK(e.recall() == Approx(0.97));
    CHECK(e.precision() == Approx(97.0 / 98.0));
    CHECK(e.false_positive_rate() == Approx(0.005));
    CHECK(e.accuracy() == Approx(296.0 / 300.0));
    CHECK_THAT(describe(e), Catch::Contains("recall: 97.00%"));
    CHECK_THAT(describe(e), Catch::Contains("false-positive rate: 0.50%"));

    Evaluation empty;
    CHECK(empty.precision() == 0);
    CHECK(empty.recall() == 0);
    CHECK(empty.false_positive_rate() == 0);
    CHECK(empty.accuracy() == 0);
}

TEST_CASE("evaluate on the tiny training set counts each message once", "[model]")
{
    Model model = tiny_model();
    Evaluation e = evaluate(model, all_features(spam_texts), all_features(ham_texts));
    CHECK(e.true_positives + e.false_negatives == spam_texts.size());
    CHECK(e.false_positives + e.true_negatives == ham_texts.size());
    CHECK(e.true_positives == spam_texts.size());
    CHECK(e.true_negatives == ham_texts.size());
}

TEST_CASE("a saved model loads back with the same scores and info", "[model]")
{
    Model model = tiny_model();
    std::string path = temp_path("roundtrip.model");
    model.save(path);
    Model loaded = Model::load(path);
    std::filesystem::remove(path);

    for (const auto& text : spam_texts) {
        CHECK(loaded.score(text_features(text)) == model.score(text_features(text)));
    }
    CHECK(loaded.info().threshold == model.info().threshold);
    CHECK(loaded.info().spam_messages == spam_texts.size());
    CHECK(loaded.info().ham_messages == ham_texts.size());
    CHECK(loaded.info().trained_at == model.info().trained_at);
    CHECK(loaded.info().features.hash_bits == 16);
    CHECK(loaded.info().nonzero_weights == model.info().nonzero_weights);
    CHECK_THAT(describe(loaded.info()), Catch::Contains("trained on: 8 spam, 8 ham"));
}

TEST_CASE("a truncated model file is an error naming the byte, at every length", "[model]")
{
    std::string bytes = tiny_model().serialize();
    for (std::size_t length = 8; length < bytes.size(); length += 7) {
        CAPTURE(length);
        CHECK_THROWS_WITH(Model::deserialize(bytes.substr(0, length), "m.bin"),
                          "m.bin: truncated at byte " + std::to_string(length));
    }
    CHECK_THROWS_WITH(Model::deserialize("", "m.bin"), "m.bin: truncated at byte 0");
}

TEST_CASE("a model file of another format version is refused by name", "[model]")
{
    std::string bytes = tiny_model().serialize();
    std::uint32_t three = 3;
    std::memcpy(bytes.data() + 8, &three, sizeof three);
    CHECK_THROWS_WITH(Model::deserialize(bytes, "m.bin"),
                      "m.bin: written by model format 3, this relaygate reads 1");
}

TEST_CASE("a file that is not a model is refused for its magic", "[model]")
{
    CHECK_THROWS_WITH(Model::deserialize("From someone\nSubject: hi\n\nbody\n", "x.eml"),
                      "x.eml: not a relaygate model file (wrong magic)");
}

TEST_CASE("a damaged model file fails its checksum", "[model]")
{
    std::string bytes = tiny_model().serialize();
    // Flip one bit of the last weight: still a valid number, but not what was written.
    bytes[bytes.size() - 9] ^= 0x01;
    CHECK_THROWS_WITH(Model::deserialize(bytes, "m.bin"),
                      "m.bin: checksum mismatch (the file is damaged)");
}

TEST_CASE("a model file claiming huge sizes is refused before allocating", "[model]")
{
    std::string bytes = tiny_model().serialize();
    std::string huge_bits = bytes;
    std::uint32_t bits = 40;
    std::memcpy(huge_bits.data() + 12, &bits, sizeof bits);
    CHECK_THROWS_WITH(Model::deserialize(huge_bits, "m.bin"), "m.bin: hash bits 40 out of range");

    // The weight count sits after the fixed header, the date and the weight scale.
    std::size_t date_length_at = 8 + 4 * 3 + 8 * 2 + 8 * 4;
    std::uint32_t date_length = 0;
    std::memcpy(&date_length, bytes.data() + date_length_at, sizeof date_length);
    std::size_t count_at = date_length_at + 4 + date_length + 8;
    std::string many_weights = bytes;
    std::uint32_t count = 60000;  // fits the 2^16 table, not the bytes present
    std::memcpy(many_weights.data() + count_at, &count, sizeof count);
    CHECK_THROWS_WITH(Model::deserialize(many_weights, "m.bin"),
                      Catch::StartsWith("m.bin: truncated at byte"));
}

TEST_CASE("loading a missing model file says it cannot be opened", "[model]")
{
    CHECK_THROWS_WITH(Model::load("/nonexistent/dir/x.model"),
                      "cannot open /nonexistent/dir/x.model: No such file or directory");
}

TEST_CASE("finding scores are 0 under the threshold and rise from 5 to 8 above it", "[model]")
{
    double threshold = 0.7;
    CHECK(finding_score(0.69, threshold) == 0);
    CHECK(finding_score(threshold, threshold) == Approx(min_finding_score));
    CHECK(finding_score(0.999, threshold) == Approx(max_finding_score));
    CHECK(finding_score(1.0, threshold) == Approx(max_finding_score));
    double previous = 0;
    for (double p : {0.7, 0.8, 0.9, 0.95, 0.99, 0.995, 0.999}) {
        double score = finding_score(p, threshold);
        CHECK(score >= previous);
        previous = score;
    }
    CHECK(finding_score(0.9995, 0.9995) == max_finding_score);
}

TEST_CASE("the shared model is loaded once per path and its errors are kept", "[model]")
{
    std::string path = temp_path("shared.model");
    tiny_model().save(path);
    auto first = shared_model(path);
    std::filesystem::remove(path);
    auto second = shared_model(path);  // the file is gone: the loaded model stays
    CHECK(first.get() == second.get());
    CHECK(first->info().spam_messages == spam_texts.size());

    std::string missing = temp_path("missing.model");
    for (int attempt = 0; attempt < 2; ++attempt) {
        CHECK_THROWS_WITH(shared_model(missing),
                          "cannot open " + missing + ": No such file or directory");
    }
}

TEST_CASE("RELAYGATE_MODEL comes first among the default model places", "[model]")
{
    ::setenv("RELAYGATE_MODEL", "/somewhere/mine.model", 1);
    auto candidates = default_model_candidates();
    ::unsetenv("RELAYGATE_MODEL");
    REQUIRE(candidates.size() == 4);
    CHECK(candidates[0] == "/somewhere/mine.model");
    CHECK_THAT(candidates[1], Catch::EndsWith("/share/relaygate/default.model"));
    CHECK_THAT(candidates[3], Catch::EndsWith("/models/default.model"));
}
