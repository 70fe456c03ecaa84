// relaygate scan PATH...: many messages, in parallel, in constant memory, with verdicts in
// input order, a progress line, a summary, an optional split into Maildirs, and --resume.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "cli/cli.hpp"
#include "relaygate/relay.hpp"

namespace relaygate::cli {
namespace {

// Messages read ahead of the oldest one not yet written: bounds memory whatever the input
// size (each message is itself bounded by --max-message-size).
constexpr std::size_t read_ahead_per_worker = 8;
constexpr std::size_t slowest_kept = 5;
constexpr auto progress_interval = std::chrono::milliseconds(250);
constexpr int exit_interrupted = 130;

std::atomic<bool> interrupted{false};

extern "C" void on_interrupt(int)
{
    interrupted = true;
}

struct ScanOptions {
    InputOptions input;
    DnsOptions dns;
    PolicyOptions policy;
    EnvelopeCliOptions envelope;
    unsigned jobs = 0;
    std::string output;
    bool quiet = false;
    bool pretty = false;
    bool resume = false;
    std::string split_dir;
    std::string fail_on;
};

struct Job {
    std::size_t sequence = 0;
    RawMessage raw;
};

struct Done {
    std::string line;
    std::string where;  // path#index
    Action action = Action::accept;
    bool error = false;
    std::uint64_t bytes = 0;
    std::int64_t elapsed_us = 0;
    std::vector<std::pair<std::string, std::int64_t>> layer_us;
    std::vector<std::string> finding_ids;
    std::string split_problem;
};

// What the summary reports, gathered in input order by the writer.
struct Totals {
    std::size_t messages = 0;
    std::size_t errors = 0;
    std::uint64_t bytes = 0;
    std::map<std::string, std::size_t> actions;
    std::map<std::string, std::size_t> findings;
    std::map<std::string, std::int64_t> layer_us;
    std::vector<std::pair<std::int64_t, std::string>> slowest;

    void add(const Done& done);
};

void Totals::add(const Done& done)
{
    ++messages;
    errors += done.error ? 1 : 0;
    bytes += done.bytes;
    ++actions[std::string(to_string(done.action))];
    for (const auto& id : done.finding_ids)
        ++findings[id];
    for (const auto& [layer, us] : done.layer_us)
        layer_us[layer] += us;

    slowest.emplace_back(done.elapsed_us, done.where);
    std::sort(slowest.begin(), slowest.end(), std::greater<>());
    if (slowest.size() > slowest_kept)
        slowest.pop_back();
}

// Everything the reader, the workers and the writer share.
class Scan {
public:
    Scan(const ScanOptions& options, const checks::Pipeline& pipeline,
         const checks::EnvelopeOptions& envelope, std::size_t skip)
        : options_(options), pipeline_(pipeline), envelope_(envelope), skip_(skip)
    {
    }

    void read(MessageStream& stream);
    void work();
    // Writes results in input order until every read message is written.
    void write(std::ostream& out, Totals& totals, std::uint64_t total_input_bytes);

    std::size_t skipped() const { return skipped_; }

private:
    Done check_one(const Job& job);
    void show_progress(const Totals& totals, std::uint64_t total_input_bytes, bool final);

    const ScanOptions& options_;
    const checks::Pipeline& pipeline_;
    const checks::EnvelopeOptions& envelope_;
    std::size_t skip_;
    std::size_t skipped_ = 0;
    std::uint64_t skipped_bytes_ = 0;

    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<Job> jobs_;
    std::map<std::size_t, Done> done_;
    std::size_t next_sequence_ = 0;  // the next message the reader hands out
    std::size_t next_written_ = 0;   // the next message the writer writes
    bool reading_done_ = false;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point last_progress_{};
};

void Scan::read(MessageStream& stream)
{
    std::size_t window = read_ahead_per_worker * std::max(1u, options_.jobs);
    RawMessage raw;
    while (!interrupted && stream.next(raw)) {
        if (skipped_ < skip_) {
            ++skipped_;
            skipped_bytes_ += raw.bytes.size();
            continue;
        }
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] {
            return interrupted || next_sequence_ - next_written_ < window;
        });
        if (interrupted)
            break;
        jobs_.push_back(Job{next_sequence_++, std::move(raw)});
        raw = RawMessage{};
        changed_.notify_all();
    }
    std::lock_guard lock(mutex_);
    reading_done_ = true;
    changed_.notify_all();
}

Done Scan::check_one(const Job& job)
{
    Done done;
    auto started = std::chrono::steady_clock::now();
    Verdict verdict = pipeline_.check(job.raw, envelope_);
    done.elapsed_us = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::steady_clock::now() - started)
                          .count();

    done.line = to_json_text(verdict, options_.pretty);
    done.where = job.raw.path + "#" + std::to_string(job.raw.index);
    done.action = verdict.action;
    done.error = verdict.error.has_value();
    done.bytes = job.raw.bytes.size();
    for (const auto& layer : verdict.layers) {
        done.layer_us.emplace_back(layer.name, layer.elapsed_us);
        for (const auto& finding : layer.findings)
            done.finding_ids.push_back(finding.id);
    }

    if (!options_.split_dir.empty()) {
        std::string dir = options_.split_dir + "/" + std::string(to_string(verdict.action));
        relay::QuarantineResult stored = relay::write_to_maildir(dir, job.raw.bytes);
        if (!stored.stored)
            done.split_problem = done.where + ": " + stored.error;
    }
    return done;
}

void Scan::work()
{
    for (;;) {
        Job job;
        {
            std::unique_lock lock(mutex_);
            changed_.wait(lock, [&] { return !jobs_.empty() || reading_done_ || interrupted; });
            if (jobs_.empty())
                return;
            job = std::move(jobs_.front());
            jobs_.pop_front();
        }
        Done done = check_one(job);
        std::lock_guard lock(mutex_);
        done_.emplace(job.sequence, std::move(done));
        changed_.notify_all();
    }
}

void Scan::write(std::ostream& out, Totals& totals, std::uint64_t total_input_bytes)
{
    for (;;) {
        Done done;
        {
            std::unique_lock lock(mutex_);
            changed_.wait_for(lock, progress_interval, [&] {
                return done_.count(next_written_) ||
                       (reading_done_ && next_written_ == next_sequence_);
            });
            auto ready = done_.find(next_written_);
            if (ready == done_.end()) {
                if (reading_done_ && next_written_ == next_sequence_)
                    break;
                lock.unlock();
                show_progress(totals, total_input_bytes, false);
                continue;
            }
            done = std::move(ready->second);
            done_.erase(ready);
            ++next_written_;
            changed_.notify_all();
        }
        out << done.line << '\n';
        if (!done.split_problem.empty())
            print_error(done.split_problem);
        totals.add(done);
        show_progress(totals, total_input_bytes, false);
    }
    out.flush();
    show_progress(totals, total_input_bytes, true);
}

std::string human_bytes(double bytes)
{
    const char* units[] = {"B", "KB", "MB", "GB", "TB"};
    int unit = 0;
    while (bytes >= 1000 && unit < 4) {
        bytes /= 1000;
        ++unit;
    }
    char text[32];
    std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, units[unit]);
    return text;
}

// One line redrawn in place on a terminal: messages, bytes, rate and ETA.
void Scan::show_progress(const Totals& totals, std::uint64_t total_input_bytes, bool final)
{
    if (options_.quiet || !isatty(STDERR_FILENO))
        return;
    auto now = std::chrono::steady_clock::now();
    if (!final && now - last_progress_ < progress_interval)
        return;
    last_progress_ = now;

    double seconds = std::chrono::duration<double>(now - started_).count();
    double rate = seconds > 0 ? static_cast<double>(totals.messages) / seconds : 0;
    double byte_rate = seconds > 0 ? static_cast<double>(totals.bytes) / seconds : 0;
    std::uint64_t done_bytes = totals.bytes + skipped_bytes_;
    std::string eta = "--";
    if (byte_rate > 0 && total_input_bytes > done_bytes) {
        eta = std::to_string(static_cast<long>((total_input_bytes - done_bytes) / byte_rate)) +
              " s";
    }
    std::fprintf(stderr, "\r\033[K%zu messages, %s of %s, %.0f msg/s, ETA %s%s",
                 totals.messages, human_bytes(static_cast<double>(done_bytes)).c_str(),
                 human_bytes(static_cast<double>(total_input_bytes)).c_str(), rate,
                 eta.c_str(), final ? "\n" : "");
}

std::uint64_t input_size(const std::vector<std::string>& paths)
{
    namespace fs = std::filesystem;
    std::uint64_t total = 0;
    std::error_code error;
    for (const auto& path : paths) {
        if (path == "-")
            continue;
        if (fs::is_regular_file(path, error)) {
            total += fs::file_size(path, error);
            continue;
        }
        auto walk = fs::recursive_directory_iterator(
            path, fs::directory_options::skip_permission_denied, error);
        for (auto end = fs::recursive_directory_iterator(); !error && walk != end;
             walk.increment(error)) {
            if (walk->is_regular_file(error))
                total += walk->file_size(error);
        }
    }
    return total;
}

void print_summary(const Totals& totals, double seconds, unsigned jobs, std::size_t skipped)
{
    std::ostream& out = std::cerr;
    char rate[64];
    std::snprintf(rate, sizeof rate, "%.2f s, %.0f msg/s", seconds,
                  seconds > 0 ? static_cast<double>(totals.messages) / seconds : 0.0);
    out << "relaygate scan: " << totals.messages << " messages ("
        << human_bytes(static_cast<double>(totals.bytes)) << ") in " << rate << ", " << jobs
        << (jobs == 1 ? " worker" : " workers");
    if (skipped)
        out << ", " << skipped << " skipped (--resume)";
    out << '\n';

    out << "  actions:";
    for (const auto& [action, count] : totals.actions)
        out << ' ' << action << ' ' << count;
    out << '\n';
    if (totals.errors)
        out << "  errors: " << totals.errors << " messages could not be fully processed\n";

    out << "  layer time (summed over workers):";
    for (const auto& [layer, us] : totals.layer_us)
        out << ' ' << layer << ' ' << us / 1000 << " ms";
    out << '\n';

    std::vector<std::pair<std::size_t, std::string>> findings;
    for (const auto& [id, count] : totals.findings)
        findings.emplace_back(count, id);
    std::sort(findings.begin(), findings.end(), std::greater<>());
    out << "  findings:";
    for (const auto& [count, id] : findings)
        out << ' ' << id << ' ' << count;
    out << '\n';

    out << "  slowest:";
    for (const auto& [us, where] : totals.slowest)
        out << ' ' << where << " (" << us << " us)";
    out << '\n';
}

// With --resume, the output file is the record of how far an earlier run got: its complete
// lines are messages already checked. A partial last line (the run was killed mid-write) is
// cut off.
std::size_t prepare_resume(const std::string& output)
{
    std::fstream file(output, std::ios::in | std::ios::binary);
    if (!file)
        return 0;
    std::size_t complete = 0;
    std::uint64_t complete_bytes = 0, position = 0;
    for (std::string line; std::getline(file, line);) {
        position += line.size();
        if (file.eof())
            break;
        position += 1;
        complete += 1;
        complete_bytes = position;
    }
    file.close();
    std::filesystem::resize_file(output, complete_bytes);
    return complete;
}

int run_scan(CLI::App& command, ScanOptions& options)
{
    if (options.resume && options.output.empty())
        throw UsageError("--resume needs -o FILE: the output file records how far a run got");
    if (options.jobs == 0)
        options.jobs = std::max(1u, std::thread::hardware_concurrency());

    Policy policy = load_effective_policy(options.policy);
    checks::EnvelopeOptions envelope = envelope_from(command, options.envelope);
    std::unique_ptr<dns::Resolver> resolver = make_resolver(options.dns);
    checks::PipelineOptions pipeline_options;
    pipeline_options.short_circuit = policy.short_circuit.value_or(false);
    checks::Pipeline pipeline(policy, *resolver, pipeline_options);

    std::size_t skip = options.resume ? prepare_resume(options.output) : 0;
    std::ofstream file;
    if (!options.output.empty()) {
        file.open(options.output, std::ios::binary | (options.resume ? std::ios::app
                                                                      : std::ios::trunc));
        if (!file)
            throw UsageError("cannot write " + options.output + ": " + std::strerror(errno));
    }
    std::ostream& out = options.output.empty() ? std::cout : file;

    struct sigaction action {};
    action.sa_handler = on_interrupt;
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);

    MessageStream stream(options.input.paths, reader_options(options.input));
    Scan scan(options, pipeline, envelope, skip);
    Totals totals;
    auto started = std::chrono::steady_clock::now();

    std::thread reader([&] { scan.read(stream); });
    std::vector<std::thread> workers;
    for (unsigned i = 0; i < options.jobs; ++i)
        workers.emplace_back([&] { scan.work(); });
    scan.write(out, totals, input_size(options.input.paths));
    reader.join();
    for (auto& worker : workers)
        worker.join();

    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
                         .count();
    if (!options.quiet)
        print_summary(totals, seconds, options.jobs, scan.skipped());
    for (const auto& error : stream.errors())
        print_error(error);

    if (interrupted) {
        print_error("interrupted after " + std::to_string(skip + totals.messages) +
                    " messages; run again with --resume to continue");
        return exit_interrupted;
    }
    if (!stream.errors().empty())
        return exit_unreadable;
    bool matched = (options.fail_on == "reject" && totals.actions.count("reject")) ||
                   (options.fail_on == "quarantine" &&
                    (totals.actions.count("reject") || totals.actions.count("quarantine")));
    return matched ? exit_fail_on : exit_ok;
}

}  // namespace

void add_scan_command(CLI::App& root, int& exit_code)
{
    auto options = std::make_shared<ScanOptions>();
    CLI::App* command = root.add_subcommand(
        "scan", "Check mailboxes in bulk (mbox, Maildir, directories, recursively) in parallel, "
                "with verdicts in input order and a summary");
    command->add_option("paths", options->input.paths, "Mailboxes, directories or files")
        ->required();
    command->add_option("-j,--jobs", options->jobs,
                        "Worker threads (default: the number of cores)");
    command->add_option("-o,--output", options->output,
                        "Write the JSON Lines verdicts to FILE instead of standard output");
    command->add_flag("-q,--quiet", options->quiet, "No progress line and no summary");
    command->add_flag("--pretty", options->pretty, "Indent the JSON for people");
    command->add_flag("--resume", options->resume,
                      "Continue an interrupted run: skip the messages already in -o FILE");
    command->add_option("--split", options->split_dir,
                        "Also file each message into DIR/accept, DIR/quarantine, DIR/reject "
                        "and DIR/tempfail, as Maildirs");
    command->add_option("--fail-on", options->fail_on,
                        "Exit 1 when a message's action is this or worse: quarantine, reject")
        ->check(CLI::IsMember({"quarantine", "reject"}));
    add_input_options(*command, options->input);
    add_dns_options(*command, options->dns);
    add_policy_options(*command, options->policy);
    add_envelope_options(*command, options->envelope);

    command->callback([command, options, &exit_code] {
        exit_code = run_scan(*command, *options);
    });
}

}  // namespace relaygate::cli
