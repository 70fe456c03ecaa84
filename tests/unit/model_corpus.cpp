// The method on real mail: trained on the train part of the shared corpus split
// (model::in_test_split), the model meets the targets on the part it did not see.
// A few seconds: the corpus is 4,508 messages.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "relaygate/model.hpp"

namespace fs = std::filesystem;
using namespace relaygate;

namespace {

struct SplitFeatures {
    std::vector<model::FeatureVector> train;
    std::vector<model::FeatureVector> test;
};

// The message of a corpus file, without the mbox From_ line the corpus keeps.
std::string read_message(const fs::path& file)
{
    std::ifstream in(file, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    std::string text = bytes.str();
    if (text.starts_with("From ")) {
        std::size_t end = text.find('\n');
        text.erase(0, end == std::string::npos ? text.size() : end + 1);
    }
    return text;
}

void add_folder(const std::string& folder, SplitFeatures& out)
{
    fs::path directory = fs::path(RELAYGATE_TESTDATA) / "corpus" / folder;
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(directory)) {
        files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    for (const fs::path& file : files) {
        Message message = Message::parse(read_message(file));
        auto features = model::extract_features(message, mime::walk(message), {});
        bool test = model::in_test_split(file.filename().string());
        (test ? out.test : out.train).push_back(std::move(features));
    }
}

}  // namespace

TEST_CASE("trained on the corpus train split, the model meets the targets on the test split",
          "[model][corpus]")
{
    if (!fs::is_directory(fs::path(RELAYGATE_TESTDATA) / "corpus")) {
        FAIL("the shared corpus is missing: " RELAYGATE_TESTDATA "/corpus");
    }
    SplitFeatures spam;
    SplitFeatures ham;
    for (const char* folder : {"spam-1", "spam-2"}) {
        add_folder(folder, spam);
    }
    for (const char* folder : {"easy-ham-1", "easy-ham-2", "hard-ham-1"}) {
        add_folder(folder, ham);
    }
    REQUIRE(spam.test.size() > 250);
    REQUIRE(ham.test.size() > 500);

    model::Model trained = model::train(spam.train, ham.train, {});
    model::Evaluation figures = model::evaluate(trained, spam.test, ham.test);
    INFO(model::describe(figures));
    CHECK(figures.recall() >= 0.97);
    CHECK(figures.false_positive_rate() <= 0.005);
}

TEST_CASE("features of hostile messages are bounded and quick", "[model]")
{
    std::string many_http;
    for (int i = 0; i < 200000; ++i) {
        many_http += "httpx ";
    }
    std::string many_links;
    for (int i = 0; i < 20000; ++i) {
        many_links += "http://h" + std::to_string(i) + ".example/ ";
    }
    std::string html = "Content-Type: text/html\n\n";
    for (int i = 0; i < 100000; ++i) {
        html += "<a href=\"http://x/\"><script>";
    }
    for (const std::string& raw :
         {"Subject: s\n\n" + many_http, "Subject: s\n\n" + many_links, html}) {
        Message message = Message::parse(raw);
        auto features = model::extract_features(message, mime::walk(message), {});
        CHECK(features.buckets.size() < 100000);
    }
}
