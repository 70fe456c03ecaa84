// model_tool — the model benchmark driver (bench/model/README.md). It calls the same library
// functions as `relaygate train` / `relaygate model eval`, adding what only the benchmark
// needs: the deterministic train/test split of the corpus and timings.
//
//   model_tool train [--split train|all] [--folds N] -o MODEL --spam DIR... --ham DIR...
//   model_tool eval  [--split test|all] MODEL --spam DIR... --ham DIR...
//   model_tool scores [--split test|all] MODEL --spam DIR... --ham DIR...  (one line a message)
//   model_tool time [--split test|all] MODEL --spam DIR... --ham DIR...    (scoring cost)
//
// --split train keeps the files whose name is not in the test split, --split test the others
// (model::in_test_split); --split all (the default) keeps everything.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "relaygate/mailbox.hpp"
#include "relaygate/model.hpp"

namespace fs = std::filesystem;
using namespace relaygate;

namespace {

struct Arguments {
    std::string command;
    std::string split = "all";
    std::string output;
    std::string model;
    model::TrainOptions options;
    std::vector<std::string> spam;
    std::vector<std::string> ham;
};

[[noreturn]] void usage()
{
    std::cerr << "usage: model_tool train|eval|scores|time [--split train|test|all]\n"
                 "       [--folds N] [-o MODEL] [MODEL] --spam PATH... --ham PATH...\n";
    std::exit(2);
}

Arguments parse_arguments(int argc, char** argv)
{
    if (argc < 2) {
        usage();
    }
    Arguments args;
    args.command = argv[1];
    std::vector<std::string>* list = nullptr;
    for (int i = 2; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--spam") {
            list = &args.spam;
        } else if (arg == "--ham") {
            list = &args.ham;
        } else if (arg == "--split" && i + 1 < argc) {
            args.split = argv[++i];
        } else if (arg == "--folds" && i + 1 < argc) {
            args.options.folds = static_cast<unsigned>(std::stoul(argv[++i]));
        } else if (arg == "--epochs" && i + 1 < argc) {
            args.options.epochs = static_cast<unsigned>(std::stoul(argv[++i]));
        } else if (arg == "--bits" && i + 1 < argc) {
            args.options.features.hash_bits = static_cast<unsigned>(std::stoul(argv[++i]));
        } else if (arg == "--rate" && i + 1 < argc) {
            args.options.learning_rate = std::stod(argv[++i]);
        } else if (arg == "--min-messages" && i + 1 < argc) {
            args.options.min_messages = static_cast<unsigned>(std::stoul(argv[++i]));
        } else if (arg == "--l2" && i + 1 < argc) {
            args.options.l2 = std::stod(argv[++i]);
        } else if (arg == "--fpr" && i + 1 < argc) {
            args.options.target_false_positive_rate = std::stod(argv[++i]);
        } else if (arg == "-o" && i + 1 < argc) {
            args.output = argv[++i];
        } else if (list != nullptr) {
            list->push_back(arg);
        } else if (args.model.empty()) {
            args.model = arg;
        } else {
            usage();
        }
    }
    return args;
}

std::uint64_t fnv1a(std::string_view bytes)
{
    std::uint64_t hash = 14695981039346656037ull;
    for (char c : bytes) {
        hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    }
    return hash;
}

// The message files under the given paths (sorted), kept by the split of their file name;
// with split "all" the paths themselves, exactly as `relaygate train` takes them.
std::vector<std::string> select(const std::vector<std::string>& paths, const std::string& split)
{
    if (split == "all") {
        return paths;
    }
    std::vector<std::string> files;
    for (const std::string& path : paths) {
        if (!fs::is_directory(path)) {
            files.push_back(path);
            continue;
        }
        for (const auto& entry : fs::recursive_directory_iterator(path)) {
            if (entry.is_regular_file()) {
                files.push_back(entry.path().string());
            }
        }
    }
    std::sort(files.begin(), files.end());
    std::erase_if(files, [&](const std::string& file) {
        std::string name = fs::path(file).filename().string();
        bool test = model::in_test_split(name);
        if (split == "test") {
            return !test;
        }
        if (split == "train") {
            return test;
        }
        // "dev" (a fifth of the whole, FNV-1a-64 of the name 1 mod 5) and "dev-train" (the
        // rest of train): for choosing features and options without looking at the test part.
        bool dev = fnv1a(name) % 5 == 1;
        return test || (split == "dev" ? !dev : dev);
    });
    return files;
}

double seconds_since(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void report_problems(const std::vector<std::string>& problems)
{
    for (const std::string& problem : problems) {
        std::cerr << "warning: " << problem << "\n";
    }
}

int train(const Arguments& args)
{
    auto start = std::chrono::steady_clock::now();
    model::ReadReport report;
    model::Model trained = model::train_paths(select(args.spam, args.split),
                                              select(args.ham, args.split), args.options,
                                              report);
    trained.save(args.output);
    report_problems(report.problems);
    std::cout << model::describe(trained.info()) << "training seconds: " << seconds_since(start)
              << "\n";
    return 0;
}

int eval(const Arguments& args)
{
    model::Model loaded = model::Model::load(args.model);
    std::vector<std::string> spam = select(args.spam, args.split);
    std::vector<std::string> ham = select(args.ham, args.split);

    auto start = std::chrono::steady_clock::now();
    model::Evaluation evaluation = model::evaluate_paths(loaded, spam, ham);
    double seconds = seconds_since(start);
    report_problems(evaluation.problems);
    std::cout << model::describe(evaluation) << "read, parse, walk and score: "
              << seconds * 1e3 / static_cast<double>(spam.size() + ham.size())
              << " ms per message\n";
    return 0;
}

// One line per message, "<label> <probability> <path>", for comparing with other filters.
int scores(const Arguments& args)
{
    model::Model loaded = model::Model::load(args.model);
    for (const auto& [label, paths] : {std::pair{"spam", &args.spam}, {"ham", &args.ham}}) {
        for (const std::string& file : select(*paths, args.split)) {
            MessageStream stream({file});
            RawMessage raw;
            while (stream.next(raw)) {
                Message message = Message::parse(std::move(raw.bytes));
                double p = loaded.score(message, mime::walk(message));
                std::cout << label << " " << p << " " << file << "\n";
            }
        }
    }
    return 0;
}

// The cost the model adds to a check: features and score of messages already parsed and
// walked (the payload layer walks every message anyway), best of three passes.
int time_scoring(const Arguments& args)
{
    model::Model loaded = model::Model::load(args.model);
    std::vector<Message> messages;
    std::vector<mime::WalkResult> walks;
    std::size_t bytes = 0;
    std::vector<std::string> files = select(args.spam, args.split);
    for (const std::string& file : select(args.ham, args.split)) {
        files.push_back(file);
    }
    MessageStream stream(files);
    RawMessage raw;
    while (stream.next(raw)) {
        bytes += raw.bytes.size();
        messages.push_back(Message::parse(std::move(raw.bytes)));
        walks.push_back(mime::walk(messages.back()));
    }

    double best = 1e9;
    double checksum = 0;
    for (int pass = 0; pass < 3; ++pass) {
        auto start = std::chrono::steady_clock::now();
        for (std::size_t i = 0; i < messages.size(); ++i) {
            checksum += loaded.score(messages[i], walks[i]);
        }
        best = std::min(best, seconds_since(start));
    }
    std::cout << messages.size() << " messages, "
              << bytes / std::max<std::size_t>(1, messages.size())
              << " bytes on average\nfeatures and score: "
              << best * 1e3 / static_cast<double>(messages.size()) << " ms per message (sum "
              << checksum << ")\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv)
{
    Arguments args = parse_arguments(argc, argv);
    try {
        if (args.command == "train" && !args.output.empty()) {
            return train(args);
        }
        if (args.command == "eval" && !args.model.empty()) {
            return eval(args);
        }
        if (args.command == "time" && !args.model.empty()) {
            return time_scoring(args);
        }
        if (args.command == "scores" && !args.model.empty()) {
            return scores(args);
        }
    } catch (const model::Error& error) {
        std::cerr << "model_tool: " << error.what() << "\n";
        return 1;
    }
    usage();
}
