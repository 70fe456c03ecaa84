// relaygate scan PATH...: many messages, in parallel, in constant memory, with verdicts in
// input order, a progress line, a summary, an optional split into Maildirs, and --resume.
//
// The workers are threads of this process (the default) or forked worker processes
// (--workers processes). Processes were built because OpenSSL 3 decodes every DKIM key under
// locks (DEPENDENCIES.md section 4); measured on the benchmark corpus, threads still scale
// better (1.8x on 2 cores against 1.3-1.4x: the copies over the sockets and the parent's relay
// threads cost more than those locks), so processes are kept for isolation: a worker that
// crashes costs only its own messages (bench/README.md has the figures).
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
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
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "relaygate/relay.hpp"

namespace relaygate::cli {
namespace {

// Messages read ahead of the oldest one not yet written: bounds memory whatever the input
// size. The byte bound matters when messages are large (each is itself bounded by
// --max-message-size, and one message is always let through so that a large one still runs).
constexpr std::size_t read_ahead_per_worker = 8;
constexpr std::uint64_t read_ahead_bytes = 16u << 20;
constexpr std::size_t slowest_kept = 5;
constexpr auto progress_interval = std::chrono::milliseconds(250);
constexpr int exit_interrupted = 130;
// Messages not read whole (cut-off mbox, over --max-message-size) named on stderr; past this
// many, only their number.
constexpr std::size_t max_read_problems_shown = 20;
// A worker process's socket buffer: small, so that few messages wait behind a slow one.
constexpr int worker_socket_buffer = 64 << 10;
// Bounds on what a worker process sends back (it runs our code, but a bug there must not
// make the parent allocate without limit).
constexpr std::uint64_t max_result_frame = 64u << 20;
constexpr std::uint64_t max_frame_items = 100000;

std::atomic<bool> interrupted{false};

extern "C" void on_interrupt(int)
{
    interrupted = true;
}

enum class WorkerKind { threads, processes };

struct ScanOptions {
    InputOptions input;
    DnsOptions dns;
    PolicyOptions policy;
    EnvelopeCliOptions envelope;
    unsigned jobs = 0;
    std::string workers = "auto";
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
    std::size_t sequence = 0;
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

// ---- frames between the scan and its worker processes ----
// A frame is a 64-bit length and that many bytes; inside, numbers are 64-bit and strings are
// a length and bytes. Both ends are this program, on this machine: native byte order.

class FrameWriter {
public:
    void number(std::uint64_t value) { data_.append(reinterpret_cast<const char*>(&value), 8); }
    void text(std::string_view value)
    {
        number(value.size());
        data_.append(value);
    }
    const std::string& data() const { return data_; }

private:
    std::string data_;
};

class FrameReader {
public:
    explicit FrameReader(std::string_view data) : data_(data) {}

    std::uint64_t number()
    {
        std::uint64_t value = 0;
        if (data_.size() - position_ < 8) {
            ok_ = false;
            return 0;
        }
        std::memcpy(&value, data_.data() + position_, 8);
        position_ += 8;
        return value;
    }
    std::string text()
    {
        std::uint64_t size = number();
        if (size > data_.size() - position_) {
            ok_ = false;
            return {};
        }
        std::string value(data_.substr(position_, size));
        position_ += size;
        return value;
    }
    bool ok() const { return ok_; }

private:
    std::string_view data_;
    std::size_t position_ = 0;
    bool ok_ = true;
};

// Sends all bytes; false when the other end is gone. MSG_NOSIGNAL: a dead worker is an
// error to report, not a SIGPIPE that kills the scan.
bool send_all(int fd, std::string_view data)
{
    while (!data.empty()) {
        ssize_t sent = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent <= 0)
            return false;
        data.remove_prefix(static_cast<std::size_t>(sent));
    }
    return true;
}

bool send_frame(int fd, const FrameWriter& frame)
{
    std::uint64_t size = frame.data().size();
    return send_all(fd, std::string_view(reinterpret_cast<const char*>(&size), 8)) &&
           send_all(fd, frame.data());
}

// Reads exactly size bytes; false at the end of the stream or on an error.
bool read_exact(int fd, char* buffer, std::size_t size)
{
    while (size > 0) {
        ssize_t got = ::read(fd, buffer, size);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return false;
        buffer += got;
        size -= static_cast<std::size_t>(got);
    }
    return true;
}

std::optional<std::string> read_frame(int fd, std::uint64_t max_size)
{
    std::uint64_t size = 0;
    if (!read_exact(fd, reinterpret_cast<char*>(&size), 8) || size > max_size)
        return std::nullopt;
    std::string payload(size, '\0');
    if (!read_exact(fd, payload.data(), payload.size()))
        return std::nullopt;
    return payload;
}

FrameWriter encode_job(const Job& job)
{
    FrameWriter frame;
    frame.number(job.sequence);
    frame.text(job.raw.path);
    frame.number(job.raw.index);
    frame.number(job.raw.offset);
    frame.text(job.raw.error);
    frame.text(job.raw.bytes);
    return frame;
}

std::optional<Job> decode_job(std::string_view data)
{
    FrameReader frame(data);
    Job job;
    job.sequence = frame.number();
    job.raw.path = frame.text();
    job.raw.index = frame.number();
    job.raw.offset = frame.number();
    job.raw.error = frame.text();
    job.raw.bytes = frame.text();
    return frame.ok() ? std::optional<Job>(std::move(job)) : std::nullopt;
}

FrameWriter encode_done(const Done& done)
{
    FrameWriter frame;
    frame.number(done.sequence);
    frame.text(done.line);
    frame.text(done.where);
    frame.number(static_cast<std::uint64_t>(done.action));
    frame.number(done.error ? 1 : 0);
    frame.number(done.bytes);
    frame.number(static_cast<std::uint64_t>(done.elapsed_us));
    frame.number(done.layer_us.size());
    for (const auto& [layer, us] : done.layer_us) {
        frame.text(layer);
        frame.number(static_cast<std::uint64_t>(us));
    }
    frame.number(done.finding_ids.size());
    for (const auto& id : done.finding_ids)
        frame.text(id);
    frame.text(done.split_problem);
    return frame;
}

std::optional<Done> decode_done(std::string_view data)
{
    FrameReader frame(data);
    Done done;
    done.sequence = frame.number();
    done.line = frame.text();
    done.where = frame.text();
    done.action = static_cast<Action>(frame.number());
    done.error = frame.number() != 0;
    done.bytes = frame.number();
    done.elapsed_us = static_cast<std::int64_t>(frame.number());
    std::uint64_t layers = frame.number();
    for (std::uint64_t i = 0; frame.ok() && i < layers && i < max_frame_items; ++i) {
        std::string layer = frame.text();
        done.layer_us.emplace_back(std::move(layer), static_cast<std::int64_t>(frame.number()));
    }
    std::uint64_t findings = frame.number();
    for (std::uint64_t i = 0; frame.ok() && i < findings && i < max_frame_items; ++i)
        done.finding_ids.push_back(frame.text());
    done.split_problem = frame.text();
    return frame.ok() ? std::optional<Done>(std::move(done)) : std::nullopt;
}

// What the parent remembers of a message sent to a worker process, to give it a verdict of
// its own if the worker dies before answering.
struct Pending {
    std::size_t sequence = 0;
    std::string path;
    std::size_t index = 0;
    std::uint64_t offset = 0;
    std::uint64_t bytes = 0;
};

struct WorkerProcess {
    pid_t pid = -1;
    int socket = -1;  // the parent's end: jobs out, results in
    std::deque<Pending> pending;
    bool gone = false;
    std::string why_gone;
};

// ---- the scan ----

// How far an interrupted run got: the number of complete verdicts in its output file and the
// source of the last one, which must be the same message in this run's inputs.
struct ResumePoint {
    std::size_t done = 0;
    std::string last_path;
    std::size_t last_index = 0;
};

// Everything the reader, the workers and the writer share. One mutex guards the queue, the
// reorder map and the counters; each kind of waiter has its own condition, so that a
// finished message wakes the writer only when it is the one the writer waits for.
class Scan {
public:
    Scan(const ScanOptions& options, const checks::Pipeline& pipeline,
         const checks::EnvelopeOptions& envelope, ResumePoint skip)
        : options_(options), pipeline_(&pipeline), envelope_(envelope), skip_(std::move(skip))
    {
    }

    // A worker process checks with a pipeline of its own (see start_worker_processes).
    void use_pipeline(const checks::Pipeline& pipeline) { pipeline_ = &pipeline; }

    void read(MessageStream& stream);
    // A worker thread: checks messages until the queue is empty and reading is done.
    void work();
    // Writes results in input order until every read message is written.
    void write(std::ostream& out, Totals& totals, std::uint64_t total_input_bytes);

    // Worker processes: a forked child runs serve(); for each child the parent runs feed()
    // and collect() on threads of its own.
    [[noreturn]] void serve(int socket);
    void feed(WorkerProcess& worker);
    void collect(WorkerProcess& worker);
    void expect_workers(std::size_t count) { live_workers_ = count; }

    std::size_t skipped() const { return skipped_; }
    // Set when --resume was given other inputs than the run it continues.
    const std::string& resume_mismatch() const { return resume_mismatch_; }
    // Messages that were not read whole: each has a verdict with error set, and the scan's
    // exit status says that not everything was read.
    const std::vector<std::string>& read_problems() const { return read_problems_; }
    std::size_t read_problem_count() const { return read_problem_count_; }
    bool workers_lost() const { return workers_lost_; }

private:
    Done check_one(const Job& job) const;
    bool take_job(Job& job);
    void finish(Done done);
    void fail_locked(const Pending& pending, const std::string& why);
    void worker_gone(WorkerProcess& worker, const std::string& why);
    void show_progress(const Totals& totals, std::uint64_t total_input_bytes, bool final);

    const ScanOptions& options_;
    const checks::Pipeline* pipeline_;
    const checks::EnvelopeOptions& envelope_;
    ResumePoint skip_;
    std::size_t skipped_ = 0;
    std::string resume_mismatch_;
    std::uint64_t skipped_bytes_ = 0;
    std::vector<std::string> read_problems_;  // written by the reader, read after it ends
    std::size_t read_problem_count_ = 0;

    std::mutex mutex_;
    std::condition_variable reader_wait_;  // room in the read-ahead window
    std::condition_variable worker_wait_;  // a job, or the end of reading
    std::condition_variable writer_wait_;  // the next message to write, or the end
    std::deque<Job> jobs_;
    std::map<std::size_t, Done> done_;
    std::size_t next_sequence_ = 0;  // the next message the reader hands out
    std::size_t next_written_ = 0;   // the next message the writer writes
    std::uint64_t bytes_in_flight_ = 0;
    bool reading_done_ = false;
    std::size_t live_workers_ = 0;  // worker processes still answering
    bool workers_lost_ = false;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point last_progress_{};
};

void Scan::read(MessageStream& stream)
{
    std::size_t window = read_ahead_per_worker * std::max(1u, options_.jobs);
    RawMessage raw;
    while (!interrupted && stream.next(raw)) {
        if (skipped_ < skip_.done) {
            ++skipped_;
            skipped_bytes_ += raw.bytes.size();
            if (skipped_ == skip_.done &&
                (raw.path != skip_.last_path || raw.index != skip_.last_index)) {
                resume_mismatch_ = "the output ends with the verdict of " + skip_.last_path +
                                   "#" + std::to_string(skip_.last_index) + ", but message " +
                                   std::to_string(skipped_) + " of these inputs is " +
                                   raw.path + "#" + std::to_string(raw.index);
                break;
            }
            continue;
        }
        std::unique_lock lock(mutex_);
        reader_wait_.wait(lock, [&] {
            bool empty = next_sequence_ == next_written_;
            return interrupted || workers_lost_ ||
                   (next_sequence_ - next_written_ < window &&
                    (empty || bytes_in_flight_ + raw.bytes.size() <= read_ahead_bytes));
        });
        if (interrupted || workers_lost_)
            break;
        if (!raw.error.empty() && ++read_problem_count_ <= max_read_problems_shown)
            read_problems_.push_back(raw.path + "#" + std::to_string(raw.index) + ": " +
                                     raw.error);
        bytes_in_flight_ += raw.bytes.size();
        jobs_.push_back(Job{next_sequence_++, std::move(raw)});
        raw = RawMessage{};
        worker_wait_.notify_one();
    }
    if (resume_mismatch_.empty() && !interrupted && skipped_ < skip_.done) {
        resume_mismatch_ = "the output has " + std::to_string(skip_.done) +
                           " verdicts, but these inputs hold only " + std::to_string(skipped_) +
                           " messages";
    }
    std::lock_guard lock(mutex_);
    reading_done_ = true;
    worker_wait_.notify_all();
    writer_wait_.notify_all();
}

Done Scan::check_one(const Job& job) const
{
    Done done;
    done.sequence = job.sequence;
    auto started = std::chrono::steady_clock::now();
    Verdict verdict = pipeline_->check(job.raw, envelope_);
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

// The next job, waiting for one; false when there will be none.
bool Scan::take_job(Job& job)
{
    std::unique_lock lock(mutex_);
    worker_wait_.wait(lock, [&] { return !jobs_.empty() || reading_done_; });
    if (jobs_.empty())
        return false;
    job = std::move(jobs_.front());
    jobs_.pop_front();
    return true;
}

void Scan::finish(Done done)
{
    std::lock_guard lock(mutex_);
    bool awaited = done.sequence == next_written_;
    std::size_t sequence = done.sequence;
    done_.emplace(sequence, std::move(done));
    if (awaited)
        writer_wait_.notify_one();
}

void Scan::work()
{
    for (Job job; take_job(job);)
        finish(check_one(job));
}

// A verdict for a message whose worker died: tempfail with an internal error, like any
// message we could not judge whole.
void Scan::fail_locked(const Pending& pending, const std::string& why)
{
    Verdict verdict;
    verdict.path = pending.path;
    verdict.index = pending.index;
    verdict.offset = pending.offset;
    verdict.action = Action::tempfail;
    verdict.error = VerdictError{"internal", why};
    verdict.reason = "internal: " + why;

    Done done;
    done.sequence = pending.sequence;
    done.line = to_json_text(verdict, options_.pretty);
    done.where = pending.path + "#" + std::to_string(pending.index);
    done.action = verdict.action;
    done.error = true;
    done.bytes = pending.bytes;
    done_.emplace(pending.sequence, std::move(done));
    writer_wait_.notify_one();
}

// A worker process stopped answering: its messages get error verdicts; when none is left,
// reading stops and the queued messages get them too, so that the output stays complete.
void Scan::worker_gone(WorkerProcess& worker, const std::string& why)
{
    std::lock_guard lock(mutex_);
    if (worker.gone)
        return;
    worker.gone = true;
    worker.why_gone = why;
    for (const Pending& pending : worker.pending)
        fail_locked(pending, why);
    worker.pending.clear();
    if (--live_workers_ > 0)
        return;

    workers_lost_ = true;
    for (const Job& job : jobs_) {
        fail_locked(Pending{job.sequence, job.raw.path, job.raw.index, job.raw.offset,
                            job.raw.bytes.size()},
                    why);
    }
    jobs_.clear();
    reader_wait_.notify_all();
    worker_wait_.notify_all();
}

// The worker process's loop: a job in, a result out, until the parent closes its side.
void Scan::serve(int socket)
{
    signal(SIGINT, SIG_IGN);  // the parent decides what an interrupt means
    signal(SIGTERM, SIG_DFL);
    while (auto frame = read_frame(socket, std::uint64_t{1} << 40)) {
        std::optional<Job> job = decode_job(*frame);
        if (!job)
            _exit(2);
        frame.reset();
        if (!send_frame(socket, encode_done(check_one(*job))))
            _exit(2);
    }
    _exit(0);  // no destructors, no flush of the parent's buffers copied into this process
}

void Scan::feed(WorkerProcess& worker)
{
    for (;;) {
        Job job;
        {
            std::unique_lock lock(mutex_);
            worker_wait_.wait(lock, [&] { return !jobs_.empty() || reading_done_ ||
                                                 worker.gone; });
            if (worker.gone || jobs_.empty())
                break;
            job = std::move(jobs_.front());
            jobs_.pop_front();
            worker.pending.push_back(Pending{job.sequence, job.raw.path, job.raw.index,
                                             job.raw.offset, job.raw.bytes.size()});
        }
        // A failed send means the worker died; collect() sees that and answers for it.
        if (!send_frame(worker.socket, encode_job(job)))
            break;
    }
    ::shutdown(worker.socket, SHUT_WR);
}

void Scan::collect(WorkerProcess& worker)
{
    for (;;) {
        std::optional<std::string> frame = read_frame(worker.socket, max_result_frame);
        std::optional<Done> done = frame ? decode_done(*frame) : std::nullopt;
        if (!done)
            break;
        std::lock_guard lock(mutex_);
        if (worker.pending.empty() || worker.pending.front().sequence != done->sequence)
            break;
        worker.pending.pop_front();
        bool awaited = done->sequence == next_written_;
        std::size_t sequence = done->sequence;
        done_.emplace(sequence, std::move(*done));
        if (awaited)
            writer_wait_.notify_one();
    }
    {
        std::lock_guard lock(mutex_);
        if (worker.pending.empty() && reading_done_ && jobs_.empty()) {
            worker.gone = true;  // done with everything: a normal end
            --live_workers_;
            return;
        }
    }
    worker_gone(worker, "worker process " + std::to_string(worker.pid) + " stopped");
}

void Scan::write(std::ostream& out, Totals& totals, std::uint64_t total_input_bytes)
{
    std::vector<Done> ready;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            writer_wait_.wait_for(lock, progress_interval, [&] {
                return done_.count(next_written_) ||
                       (reading_done_ && next_written_ == next_sequence_);
            });
            // Everything ready in order, taken in one go.
            for (auto next = done_.find(next_written_); next != done_.end();
                 next = done_.find(next_written_)) {
                bytes_in_flight_ -= next->second.bytes;
                ready.push_back(std::move(next->second));
                done_.erase(next);
                ++next_written_;
            }
            if (!ready.empty())
                reader_wait_.notify_one();
            else if (reading_done_ && next_written_ == next_sequence_)
                break;
        }
        for (const Done& done : ready) {
            out << done.line << '\n';
            if (!done.split_problem.empty())
                print_error(done.split_problem);
            totals.add(done);
        }
        ready.clear();
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

void print_summary(const Totals& totals, double seconds, unsigned jobs, WorkerKind kind,
                   std::size_t skipped)
{
    std::ostream& out = std::cerr;
    char rate[64];
    std::snprintf(rate, sizeof rate, "%.2f s, %.0f msg/s", seconds,
                  seconds > 0 ? static_cast<double>(totals.messages) / seconds : 0.0);
    out << "relaygate scan: " << totals.messages << " messages ("
        << human_bytes(static_cast<double>(totals.bytes)) << ") in " << rate << ", " << jobs
        << (kind == WorkerKind::processes ? " worker process" : " worker thread")
        << (jobs == 1 ? "" : kind == WorkerKind::processes ? "es" : "s");
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

// The source of a verdict line: "source":{"path":...,"index":N}.
bool verdict_source(const std::string& line, std::string& path, std::size_t& index)
{
    auto verdict = nlohmann::json::parse(line, nullptr, false);
    if (verdict.is_discarded() || !verdict.contains("source"))
        return false;
    const auto& source = verdict["source"];
    if (!source.contains("path") || !source["path"].is_string() || !source.contains("index") ||
        !source["index"].is_number_unsigned())
        return false;
    path = source["path"].get<std::string>();
    index = source["index"].get<std::size_t>();
    return true;
}

// With --resume, the output file is the record of how far an earlier run got: its complete
// lines are messages already checked. A partial last line (the run was killed mid-write) is
// cut off. The last complete line names the message the inputs must have at that place.
ResumePoint prepare_resume(const std::string& output)
{
    ResumePoint point;
    std::fstream file(output, std::ios::in | std::ios::binary);
    if (!file)
        return point;
    std::uint64_t complete_bytes = 0, position = 0;
    std::string last_line;
    for (std::string line; std::getline(file, line);) {
        position += line.size();
        if (file.eof())
            break;
        position += 1;
        point.done += 1;
        complete_bytes = position;
        last_line = std::move(line);
    }
    file.close();
    if (point.done > 0 && !verdict_source(last_line, point.last_path, point.last_index))
        throw UsageError("--resume: the last line of " + output + " is not a verdict");
    std::filesystem::resize_file(output, complete_bytes);
    return point;
}

// --workers auto is threads: on the benchmark (bench/README.md) two threads gave 1.81x one
// on the corpus and 1.75x on DKIM-signed mail, two processes 1.31x and 1.39x.
WorkerKind choose_workers(const std::string& requested)
{
    return requested == "processes" ? WorkerKind::processes : WorkerKind::threads;
}

// What a pipeline is built from; a worker process builds its own from it.
struct PipelineParts {
    const DnsOptions& dns;
    const Policy& policy;
    checks::PipelineOptions options;
};

// The worker process: its own resolver and pipeline, so that nothing with a file descriptor
// or a lock is shared with its siblings (the DNS cache file's flock works per open file, so
// each process opens it itself). The parent built the same pipeline first and has reported
// any problem with it, so the child's construction is silenced on stderr.
[[noreturn]] void run_worker_process(Scan& scan, const PipelineParts& parts, int socket)
{
    int saved_stderr = ::dup(STDERR_FILENO);
    int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null >= 0)
        ::dup2(null, STDERR_FILENO);
    try {
        std::unique_ptr<dns::Resolver> resolver = make_resolver(parts.dns);
        checks::Pipeline pipeline(parts.policy, *resolver, parts.options);
        if (saved_stderr >= 0)
            ::dup2(saved_stderr, STDERR_FILENO);
        scan.use_pipeline(pipeline);
        scan.serve(socket);
    } catch (const std::exception& e) {
        if (saved_stderr >= 0)
            ::dup2(saved_stderr, STDERR_FILENO);
        print_error(std::string("worker process: ") + e.what());
    }
    _exit(2);
}

// Forks the worker processes before any thread of this process exists (a fork copies only
// the calling thread); each child keeps its own end of one socket pair and nothing else of
// its siblings.
std::vector<WorkerProcess> start_worker_processes(Scan& scan, const PipelineParts& parts,
                                                  unsigned count)
{
    std::vector<WorkerProcess> workers(count);
    for (unsigned i = 0; i < count; ++i) {
        int ends[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0)
            throw std::runtime_error(std::string("cannot start a worker process: ") +
                                     std::strerror(errno));
        for (int end : ends) {
            ::setsockopt(end, SOL_SOCKET, SO_SNDBUF, &worker_socket_buffer,
                         sizeof worker_socket_buffer);
        }
        std::fflush(nullptr);
        std::cout.flush();
        std::cerr.flush();
        pid_t pid = ::fork();
        if (pid < 0)
            throw std::runtime_error(std::string("cannot start a worker process: ") +
                                     std::strerror(errno));
        if (pid == 0) {
            for (unsigned j = 0; j < i; ++j)
                ::close(workers[j].socket);
            ::close(ends[0]);
            run_worker_process(scan, parts, ends[1]);
        }
        ::close(ends[1]);
        workers[i].pid = pid;
        workers[i].socket = ends[0];
    }
    scan.expect_workers(count);
    return workers;
}

// Waits for the worker processes; a problem with one is one line on stderr.
bool reap_worker_processes(std::vector<WorkerProcess>& workers)
{
    bool all_well = true;
    for (WorkerProcess& worker : workers) {
        ::close(worker.socket);
        int status = 0;
        while (::waitpid(worker.pid, &status, 0) < 0 && errno == EINTR) {
        }
        if (WIFSIGNALED(status)) {
            print_error("worker process " + std::to_string(worker.pid) + " was killed by " +
                        strsignal(WTERMSIG(status)) + "; its messages have error verdicts");
            all_well = false;
        } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
            print_error("worker process " + std::to_string(worker.pid) + " exited with " +
                        std::to_string(WEXITSTATUS(status)));
            all_well = false;
        }
    }
    return all_well;
}

int run_scan(CLI::App& command, ScanOptions& options)
{
    if (options.resume && options.output.empty())
        throw UsageError("--resume needs -o FILE: the output file records how far a run got");
    if (options.jobs == 0)
        options.jobs = std::max(1u, std::thread::hardware_concurrency());
    WorkerKind kind = choose_workers(options.workers);

    Policy policy = load_effective_policy(options.policy);
    checks::EnvelopeOptions envelope = envelope_from(command, options.envelope);
    std::unique_ptr<dns::Resolver> resolver = make_resolver(options.dns);
    checks::PipelineOptions pipeline_options;
    pipeline_options.short_circuit = policy.short_circuit.value_or(false);
    checks::Pipeline pipeline(policy, *resolver, pipeline_options);

    if (!options.split_dir.empty()) {
        std::error_code error;
        std::filesystem::create_directories(options.split_dir, error);
        if (error)
            throw UsageError("cannot create " + options.split_dir + ": " + error.message());
    }

    ResumePoint skip = options.resume ? prepare_resume(options.output) : ResumePoint{};
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

    std::vector<WorkerProcess> processes;
    if (kind == WorkerKind::processes) {
        processes = start_worker_processes(scan, {options.dns, policy, pipeline_options},
                                           options.jobs);
    }

    std::thread reader([&] { scan.read(stream); });
    std::vector<std::thread> workers;
    for (unsigned i = 0; i < options.jobs && kind == WorkerKind::threads; ++i)
        workers.emplace_back([&] { scan.work(); });
    for (WorkerProcess& process : processes) {
        workers.emplace_back([&] { scan.feed(process); });
        workers.emplace_back([&] { scan.collect(process); });
    }
    scan.write(out, totals, input_size(options.input.paths));
    reader.join();
    for (auto& worker : workers)
        worker.join();
    bool workers_well = reap_worker_processes(processes);

    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
                         .count();
    if (!options.quiet)
        print_summary(totals, seconds, options.jobs, kind, scan.skipped());
    for (const auto& error : stream.errors())
        print_error(error);
    for (const auto& problem : scan.read_problems())
        print_error(problem);
    if (scan.read_problem_count() > scan.read_problems().size()) {
        print_error("and " + std::to_string(scan.read_problem_count() -
                                            scan.read_problems().size()) +
                    " more messages not read whole");
    }
    if (!out) {
        print_error("cannot write " + (options.output.empty() ? "standard output"
                                                              : options.output));
        return exit_unreadable;
    }

    if (!scan.resume_mismatch().empty()) {
        print_error("--resume: " + scan.resume_mismatch() +
                    "; give the inputs of the interrupted run, in the same order");
        return exit_usage;
    }
    if (interrupted) {
        print_error("interrupted after " + std::to_string(skip.done + totals.messages) +
                    " messages; run again with --resume to continue");
        return exit_interrupted;
    }
    if (scan.workers_lost()) {
        print_error("every worker process stopped; the messages not read have no verdict");
        return exit_unreadable;
    }
    if (!stream.errors().empty() || scan.read_problem_count() > 0 || !workers_well)
        return exit_unreadable;
    bool matched = false;
    for (const auto& [word, count] : totals.actions)
        matched = matched || fail_on_matches(options.fail_on, *parse_action(word));
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
                        "Workers checking messages at once (default: the number of cores)");
    command->add_option("--workers", options->workers,
                        "How workers run: threads, processes (each its own pipeline, so that a "
                        "crash costs only its messages), or auto (threads, the faster)")
        ->check(CLI::IsMember({"auto", "threads", "processes"}));
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
