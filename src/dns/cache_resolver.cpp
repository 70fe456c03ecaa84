// The persistent DNS cache: answers kept in a file shared by every thread of a process and by
// concurrent processes, reused until their TTL runs out, with one upstream lookup in flight
// per question.
//
// Design: the file is an append-only log (cache_file.hpp). Each process reads it whole when it
// opens it, then reads only what others appended since, when a question misses; it appends
// each new answer. Appends hold flock(LOCK_EX) and reads flock(LOCK_SH), so that nobody reads
// half a line; O_APPEND keeps lines whole even where flock is not honoured. A torn last line
// (a crash mid-write) is skipped and the next append starts on a fresh line. Pruning writes a
// new file and renames it over the old one while holding the old one's lock; everyone compares
// the inode of the path with their descriptor before each read or append and reopens when it
// was replaced, so that no answer is written into a file nobody will read again.
#include "relaygate/dns.hpp"

#include "dns/cache_file.hpp"
#include "dns/names.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <unordered_map>

namespace relaygate::dns {
namespace {


// TODO: the file only grows between prunes (expired and superseded lines stay), so a setup
// that runs scans from cron should also run `relaygate dns cache prune` now and then. Pruning
// by itself at open is not done yet: it would rewrite a file other processes are appending
// to on every start, and choosing when it pays off needs measurements on real runs.

// Expired entries are dropped from memory after this many new answers.
constexpr std::size_t kSweepInterval = 4096;

// Reads are done in pieces of this size, so that a big file never sits in memory whole.
constexpr std::size_t kReadChunk = 64 * 1024;

// The longest header line that is read before giving up on the file as foreign.
constexpr std::size_t kMaxHeaderLength = 128;

std::string errno_text()
{
    return std::strerror(errno);
}

// Holds flock on a descriptor for one scope.
class FileLock {
public:
    FileLock(int fd, int operation) : fd_(fd)
    {
        while (::flock(fd_, operation) != 0 && errno == EINTR) {
        }
    }
    ~FileLock() { ::flock(fd_, LOCK_UN); }
    FileLock(const FileLock&) = delete;
    FileLock& operator=(const FileLock&) = delete;

private:
    int fd_;
};

bool write_all(int fd, std::string_view data)
{
    while (!data.empty()) {
        ssize_t written = ::write(fd, data.data(), data.size());
        if (written < 0 && errno == EINTR) {
            continue;
        }
        if (written <= 0) {
            return false;
        }
        data.remove_prefix(static_cast<std::size_t>(written));
    }
    return true;
}

// The first line of the file (without its newline), at most kMaxHeaderLength octets.
std::string read_first_line(int fd)
{
    char buffer[kMaxHeaderLength];
    ssize_t size = ::pread(fd, buffer, sizeof buffer, 0);
    if (size <= 0) {
        return std::string();
    }
    std::string_view text(buffer, static_cast<std::size_t>(size));
    std::size_t newline = text.find('\n');
    return newline == std::string_view::npos ? std::string() : std::string(text.substr(0, newline));
}

struct ReadResult {
    off_t offset = 0;           // just after the last complete line
    std::size_t bad_lines = 0;  // lines that did not parse
};

// Calls sink for each entry of the complete lines from offset on.
ReadResult read_entries(int fd, off_t offset, const std::function<void(CacheEntry&&)>& sink)
{
    ReadResult result{offset, 0};
    std::string pending;  // a line begun in an earlier chunk
    bool skipping = false;  // inside an over-long line
    off_t position = offset;
    std::vector<char> chunk(kReadChunk);

    for (;;) {
        ssize_t size = ::pread(fd, chunk.data(), chunk.size(), position);
        if (size < 0 && errno == EINTR) {
            continue;
        }
        if (size <= 0) {
            break;
        }
        std::string_view data(chunk.data(), static_cast<std::size_t>(size));
        position += size;

        std::size_t newline;
        while ((newline = data.find('\n')) != std::string_view::npos) {
            if (!skipping) {
                pending.append(data.substr(0, newline));
                if (auto entry = detail::parse_cache_line(pending)) {
                    sink(std::move(*entry));
                } else {
                    ++result.bad_lines;
                }
            } else {
                ++result.bad_lines;
            }
            pending.clear();
            skipping = false;
            data.remove_prefix(newline + 1);
            result.offset = position - static_cast<off_t>(data.size());
        }
        if (!skipping) {
            pending.append(data);
            if (pending.size() > detail::kMaxCacheLineLength) {
                pending.clear();
                skipping = true;
            }
        }
    }
    return result;
}

// The file behind one cached resolver: open, read what is new, append, follow replacements.
class CacheLog {
public:
    explicit CacheLog(std::string path) : path_(std::move(path)) { open_file(); }
    ~CacheLog() { close_file(); }
    CacheLog(const CacheLog&) = delete;
    CacheLog& operator=(const CacheLog&) = delete;

    bool usable() const { return fd_ >= 0; }
    void read_new(const std::function<void(CacheEntry&&)>& sink);
    void append(const CacheEntry& entry);

private:
    void open_file();
    void close_file();
    bool follow_replacement();
    void disable(const std::string& why);

    std::string path_;
    int fd_ = -1;
    dev_t device_ = 0;
    ino_t inode_ = 0;
    off_t offset_ = 0;
    bool warned_bad_lines_ = false;
};

// Opens (or creates) the file and checks its header; on any problem the log is disabled.
void CacheLog::open_file()
{
    constexpr int kMaxOpenRaces = 5;
    for (int attempt = 0; attempt < kMaxOpenRaces; ++attempt) {
        fd_ = ::open(path_.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd_ < 0) {
            disable("cannot open it: " + errno_text());
            return;
        }
        FileLock lock(fd_, LOCK_EX);
        struct stat by_fd {};
        struct stat by_path {};
        if (::fstat(fd_, &by_fd) != 0 || ::stat(path_.c_str(), &by_path) != 0 ||
            by_fd.st_ino != by_path.st_ino || by_fd.st_dev != by_path.st_dev) {
            close_file();  // replaced by a prune between open and lock: open the new one
            continue;
        }
        device_ = by_fd.st_dev;
        inode_ = by_fd.st_ino;

        if (by_fd.st_size == 0 && !write_all(fd_, detail::cache_header_line())) {
            disable("cannot write it: " + errno_text());
            return;
        }
        std::string header = read_first_line(fd_);
        detail::HeaderResult check = detail::check_cache_header(header);
        if (check.check == detail::HeaderCheck::newer) {
            disable("written by a newer relaygate (cache format " +
                    std::to_string(check.version) + ", this one reads " +
                    std::to_string(detail::kCacheFormatVersion) + ")");
            return;
        }
        if (check.check == detail::HeaderCheck::foreign) {
            disable("not a relaygate dns cache (its first line is not \"" +
                    std::string(detail::kCacheHeaderPrefix) +
                    std::to_string(detail::kCacheFormatVersion) + "\")");
            return;
        }
        offset_ = static_cast<off_t>(header.size() + 1);
        return;
    }
    disable("it keeps being replaced while opening it");
}

void CacheLog::close_file()
{
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

// Warns once and leaves the file alone from now on: never a crash, never an exception, and
// never a write into a file this version does not understand.
void CacheLog::disable(const std::string& why)
{
    close_file();
    std::cerr << "relaygate: warning: dns cache " << path_ << ": " << why
              << " -- caching in memory only, the file is left as it is\n";
}

// Reopens the file when a prune (or a user) replaced it; false when that failed.
bool CacheLog::follow_replacement()
{
    struct stat by_path {};
    if (::stat(path_.c_str(), &by_path) == 0 && by_path.st_ino == inode_ &&
        by_path.st_dev == device_) {
        return true;
    }
    close_file();
    open_file();
    return usable();
}

void CacheLog::read_new(const std::function<void(CacheEntry&&)>& sink)
{
    if (!usable() || !follow_replacement()) {
        return;
    }
    struct stat by_fd {};
    if (::fstat(fd_, &by_fd) == 0 && by_fd.st_size == offset_) {
        return;  // nothing new: the common case costs two stat calls
    }

    FileLock lock(fd_, LOCK_SH);
    ReadResult result = read_entries(fd_, offset_, sink);
    offset_ = result.offset;
    if (result.bad_lines > 0 && !warned_bad_lines_) {
        warned_bad_lines_ = true;
        std::cerr << "relaygate: warning: dns cache " << path_ << ": skipped "
                  << result.bad_lines << " damaged line(s) -- the other entries are used; "
                  << "`relaygate dns cache prune` drops them\n";
    }
}

void CacheLog::append(const CacheEntry& entry)
{
    if (!usable() || !follow_replacement()) {
        return;
    }
    FileLock lock(fd_, LOCK_EX);

    // A torn line left by a crash must not swallow this one.
    std::string line = detail::format_cache_line(entry);
    struct stat by_fd {};
    char last = '\n';
    if (::fstat(fd_, &by_fd) == 0 && by_fd.st_size > 0) {
        if (::pread(fd_, &last, 1, by_fd.st_size - 1) != 1) {
            last = '\n';
        }
    }
    if (last != '\n') {
        line.insert(line.begin(), '\n');
    }
    if (!write_all(fd_, line)) {
        disable("cannot append to it: " + errno_text());
    }
}

std::int64_t system_now()
{
    return unix_now();
}

class CachedResolver : public Resolver {
public:
    CachedResolver(std::unique_ptr<Resolver> upstream, const std::string& cache_file,
                   const CacheOptions& options);

    Answer lookup(std::string_view name, RecordType type) override;

private:
    std::optional<Answer> fresh_answer(const std::string& key, std::int64_t now) const;
    void keep(CacheEntry&& entry, std::int64_t now);
    void store(const std::string& name, RecordType type, const Answer& answer);

    std::unique_ptr<Resolver> upstream_;
    CacheOptions options_;

    std::mutex mutex_;  // guards everything below
    std::unordered_map<std::string, CacheEntry> entries_;
    std::unordered_map<std::string, std::shared_future<Answer>> in_flight_;
    std::unique_ptr<CacheLog> log_;
    std::size_t stores_since_sweep_ = 0;
};

CachedResolver::CachedResolver(std::unique_ptr<Resolver> upstream, const std::string& cache_file,
                               const CacheOptions& options)
    : upstream_(std::move(upstream)), options_(options)
{
    if (!options_.now) {
        options_.now = system_now;
    }
    if (cache_file.empty()) {
        return;
    }
    log_ = std::make_unique<CacheLog>(cache_file);
    std::int64_t now = options_.now();
    log_->read_new([this, now](CacheEntry&& entry) { keep(std::move(entry), now); });
}

// Takes an entry read from the file (newest line last) unless it has expired.
void CachedResolver::keep(CacheEntry&& entry, std::int64_t now)
{
    std::string key = detail::cache_key(entry.name, entry.type);
    if (entry.expires <= now) {
        return;
    }
    entries_.insert_or_assign(std::move(key), std::move(entry));
}

// The stored answer for key with the TTL it has left, if it has not expired.
std::optional<Answer> CachedResolver::fresh_answer(const std::string& key,
                                                   std::int64_t now) const
{
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.expires <= now) {
        return std::nullopt;
    }
    Answer answer = it->second.answer;
    if (answer.ttl > 0) {
        auto left = static_cast<std::uint32_t>(it->second.expires - now);
        answer.ttl = std::min(answer.ttl, left);
    }
    return answer;
}

// Keeps a new upstream answer in memory and in the file, if it may be cached at all.
void CachedResolver::store(const std::string& name, RecordType type, const Answer& answer)
{
    std::uint32_t ttl = std::min(answer.ttl, options_.max_ttl);
    std::uint32_t keep_for = ttl;
    if (answer.outcome == Outcome::temperror || (answer.outcome == Outcome::found && ttl == 0)) {
        return;  // never cache a failure; TTL 0 means "do not cache" (RFC 1035 3.2.1)
    }
    if (answer.outcome != Outcome::found && ttl == 0) {
        keep_for = options_.default_negative_ttl;
    }
    if (keep_for == 0) {
        return;
    }

    std::int64_t now = options_.now();
    CacheEntry entry;
    entry.name = name;
    entry.type = type;
    entry.answer = answer;
    entry.answer.ttl = ttl;
    entry.answer.detail.clear();
    entry.expires = now + keep_for;
    if (log_) {
        log_->append(entry);
    }
    entries_.insert_or_assign(detail::cache_key(name, type), std::move(entry));

    if (++stores_since_sweep_ >= kSweepInterval) {
        stores_since_sweep_ = 0;
        std::erase_if(entries_, [now](const auto& item) { return item.second.expires <= now; });
    }
}

// Answers from memory, then from what other processes appended, then from one upstream
// lookup per question that every concurrent asker shares.
Answer CachedResolver::lookup(std::string_view name, RecordType type)
{
    std::optional<std::string> canonical = detail::canonical_name(name);
    if (!canonical) {
        return upstream_->lookup(name, type);  // not a name: nothing worth keeping
    }
    std::string key = detail::cache_key(*canonical, type);

    // A fresh answer here, or appended by another process since we last looked.
    std::unique_lock lock(mutex_);
    std::int64_t now = options_.now();
    if (auto hit = fresh_answer(key, now)) {
        return *hit;
    }
    if (log_) {
        log_->read_new([this, now](CacheEntry&& entry) { keep(std::move(entry), now); });
        if (auto hit = fresh_answer(key, now)) {
            return *hit;
        }
    }

    // Someone in this process is asking already: wait for that answer.
    if (auto it = in_flight_.find(key); it != in_flight_.end()) {
        std::shared_future<Answer> pending = it->second;
        lock.unlock();
        return pending.get();
    }

    // Ask upstream without holding the lock, then publish the answer to the waiters.
    std::promise<Answer> promise;
    in_flight_.emplace(key, promise.get_future().share());
    lock.unlock();
    Answer answer;
    try {
        answer = upstream_->lookup(name, type);
    } catch (...) {
        lock.lock();
        in_flight_.erase(key);
        lock.unlock();
        promise.set_exception(std::current_exception());
        throw;
    }
    answer.ttl = std::min(answer.ttl, options_.max_ttl);
    lock.lock();
    store(*canonical, type, answer);
    in_flight_.erase(key);
    lock.unlock();
    promise.set_value(answer);
    return answer;
}

// Opens path for show/prune: -1 when it does not exist; throws for anything else wrong.
int open_for_tools(const std::string& path, int flags)
{
    int fd = ::open(path.c_str(), flags | O_CLOEXEC);
    if (fd < 0 && errno != ENOENT) {
        throw Error("cannot open " + path + ": " + errno_text());
    }
    return fd;
}

// Checks the header of an opened cache file; returns where the entries begin.
off_t checked_entries_start(int fd, const std::string& path)
{
    std::string header = read_first_line(fd);
    detail::HeaderResult check = detail::check_cache_header(header);
    if (check.check == detail::HeaderCheck::newer) {
        throw Error(path + " was written by a newer relaygate (cache format " +
                    std::to_string(check.version) + ", this one reads " +
                    std::to_string(detail::kCacheFormatVersion) + ")");
    }
    if (check.check == detail::HeaderCheck::foreign) {
        struct stat info {};
        if (::fstat(fd, &info) == 0 && info.st_size == 0) {
            return 0;  // created and not yet written: an empty cache
        }
        throw Error(path + " is not a relaygate dns cache");
    }
    return static_cast<off_t>(header.size() + 1);
}

// The newest entry per question, in name and type order, and how many lines were read.
std::map<std::pair<std::string, unsigned>, CacheEntry> newest_entries(int fd, off_t start,
                                                                      std::size_t& lines)
{
    std::map<std::pair<std::string, unsigned>, CacheEntry> entries;
    lines = 0;
    ReadResult result = read_entries(fd, start, [&](CacheEntry&& entry) {
        ++lines;
        std::pair<std::string, unsigned> key{entry.name, static_cast<unsigned>(entry.type)};
        entries.insert_or_assign(std::move(key), std::move(entry));
    });
    lines += result.bad_lines;
    return entries;
}

}  // namespace

std::int64_t unix_now()
{
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::unique_ptr<Resolver> make_cached_resolver(std::unique_ptr<Resolver> upstream,
                                               const std::string& cache_file)
{
    return make_cached_resolver(std::move(upstream), cache_file, CacheOptions{});
}

std::unique_ptr<Resolver> make_cached_resolver(std::unique_ptr<Resolver> upstream,
                                               const std::string& cache_file,
                                               const CacheOptions& options)
{
    return std::make_unique<CachedResolver>(std::move(upstream), cache_file, options);
}

std::vector<CacheEntry> read_cache(const std::string& cache_file)
{
    int fd = open_for_tools(cache_file, O_RDONLY);
    if (fd < 0) {
        return {};
    }
    std::vector<CacheEntry> entries;
    try {
        FileLock lock(fd, LOCK_SH);
        off_t start = checked_entries_start(fd, cache_file);
        std::size_t lines = 0;
        for (auto& [key, entry] : newest_entries(fd, start, lines)) {
            entries.push_back(std::move(entry));
        }
    } catch (...) {
        ::close(fd);
        throw;
    }
    ::close(fd);
    return entries;
}

PruneResult prune_cache(const std::string& cache_file, std::int64_t now)
{
    int fd = open_for_tools(cache_file, O_RDWR);
    if (fd < 0) {
        return {};
    }
    PruneResult result;
    try {
        // Holding the old file's lock keeps appenders out until the new file is in place;
        // they then notice the new inode and reopen.
        FileLock lock(fd, LOCK_EX);
        off_t start = checked_entries_start(fd, cache_file);
        std::size_t lines = 0;
        auto entries = newest_entries(fd, start, lines);

        std::string text = detail::cache_header_line();
        for (const auto& [key, entry] : entries) {
            if (entry.expires > now) {
                text += detail::format_cache_line(entry);
                ++result.kept;
            }
        }
        result.removed = lines - result.kept;

        std::string temporary = cache_file + ".prune." + std::to_string(::getpid());
        int out = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (out < 0) {
            throw Error("cannot write " + temporary + ": " + errno_text());
        }
        bool written = write_all(out, text) && ::fsync(out) == 0;
        std::string why = errno_text();
        ::close(out);
        if (!written || ::rename(temporary.c_str(), cache_file.c_str()) != 0) {
            why = written ? errno_text() : why;
            ::unlink(temporary.c_str());
            throw Error("cannot replace " + cache_file + ": " + why);
        }
    } catch (...) {
        ::close(fd);
        throw;
    }
    ::close(fd);
    return result;
}

}  // namespace relaygate::dns
