// relaygate train / model info / model eval: the payload layer's statistical model.
#include <iostream>

#include "cli/cli.hpp"
#include "relaygate/model.hpp"

namespace relaygate::cli {
namespace {

struct TrainCliOptions {
    std::vector<std::string> spam, ham;
    std::string output;
    model::TrainOptions train;
};

struct EvalCliOptions {
    std::vector<std::string> spam, ham;
    std::string model_file;
};

int run_train(const TrainCliOptions& options)
{
    model::ReadReport report;
    model::Model trained;
    try {
        trained = model::train_paths(options.spam, options.ham, options.train, report);
        trained.save(options.output);
    } catch (const model::Error& e) {
        throw UsageError(e.what());
    }
    for (const auto& problem : report.problems)
        print_error(problem);
    std::cout << "wrote " << options.output << '\n' << model::describe(trained.info());
    return report.problems.empty() ? exit_ok : exit_unreadable;
}

// --model FILE, else the model the payload layer uses (model::default_model_candidates).
std::shared_ptr<const model::Model> load_model(const std::string& given)
{
    try {
        return model::shared_model(given);
    } catch (const model::Error& e) {
        throw UsageError(e.what());
    }
}

int run_eval(const EvalCliOptions& options)
{
    auto loaded = load_model(options.model_file);
    model::Evaluation evaluation = model::evaluate_paths(*loaded, options.spam, options.ham);
    for (const auto& problem : evaluation.problems)
        print_error(problem);
    std::cout << model::describe(evaluation);
    return evaluation.problems.empty() ? exit_ok : exit_unreadable;
}

}  // namespace

void add_model_commands(CLI::App& root, int& exit_code)
{
    auto train_options = std::make_shared<TrainCliOptions>();
    CLI::App* train = root.add_subcommand(
        "train", "Train the statistical model on labelled mail (any input check takes)");
    train->add_option("--spam", train_options->spam, "Spam: files, mboxes, Maildirs, dirs")
        ->required();
    train->add_option("--ham", train_options->ham, "Ham: files, mboxes, Maildirs, dirs")
        ->required();
    train->add_option("-o,--output", train_options->output, "Model file to write")->required();
    train->add_option("--hash-bits", train_options->train.features.hash_bits,
                      "Features are hashed into 2^N buckets")
        ->check(CLI::Range(model::min_hash_bits, model::max_hash_bits))
        ->capture_default_str();
    train->add_option("--epochs", train_options->train.epochs, "Passes over the training set")
        ->check(CLI::Range(1u, 100u))
        ->capture_default_str();
    train->add_option("--target-fpr", train_options->train.target_false_positive_rate,
                      "Ham false-positive rate the decision threshold is tuned for")
        ->check(CLI::Range(0.0, 0.5))
        ->capture_default_str();
    train->callback([train_options, &exit_code] { exit_code = run_train(*train_options); });

    CLI::App* model = root.add_subcommand("model", "Inspect or evaluate a model file");
    model->require_subcommand(1);

    auto info_file = std::make_shared<std::string>();
    CLI::App* info = model->add_subcommand("info", "Describe a model file");
    info->add_option("model", *info_file, "Model file (default: the bundled model)");
    info->callback([info_file, &exit_code] {
        std::cout << model::describe(load_model(*info_file)->info());
        exit_code = exit_ok;
    });

    auto eval_options = std::make_shared<EvalCliOptions>();
    CLI::App* eval = model->add_subcommand(
        "eval", "Precision, recall and false-positive rate of a model on labelled mail");
    eval->add_option("--spam", eval_options->spam, "Spam: files, mboxes, Maildirs, dirs")
        ->required();
    eval->add_option("--ham", eval_options->ham, "Ham: files, mboxes, Maildirs, dirs")
        ->required();
    eval->add_option("--model", eval_options->model_file,
                     "Model file (default: the bundled model)");
    eval->callback([eval_options, &exit_code] { exit_code = run_eval(*eval_options); });
}

}  // namespace relaygate::cli
