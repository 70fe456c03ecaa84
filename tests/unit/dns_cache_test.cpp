// The persistent DNS cache: TTLs, negative answers, sharing across threads and processes,
// damaged files, and show/prune.
#include <catch2/catch.hpp>

#include "dns_test_support.hpp"
#include "relaygate/dns.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

using namespace relaygate::dns;
using namespace std::chrono_literals;
using dns_test::data_file;
using dns_test::ScratchDir;

namespace {

constexpr std::int64_t kStartTime = 1'700'000'000;

// The test world behind a counter of the lookups that reach it.
class CountingResolver : public Resolver {
public:
    explicit CountingResolver(std::chrono::milliseconds delay = 0ms)
        : world_(make_zone_resolver({data_file("world.zone"), data_file("other.zone")})),
          delay_(delay)
    {
    }

    Answer lookup(std::string_view name, RecordType type) override
    {
        ++count_;
        std::this_thread::sleep_for(delay_);
        return world_->lookup(name, type);
    }

    int count() const { return count_; }

private:
    std::unique_ptr<Resolver> world_;
    std::chrono::milliseconds delay_;
    std::atomic<int> count_{0};
};

// A cached resolver over a CountingResolver, with a clock the test moves.
struct Fixture {
    explicit Fixture(const std::string& file, std::chrono::milliseconds delay = 0ms)
    {
        auto upstream = std::make_unique<CountingResolver>(delay);
        counter = upstream.get();
        CacheOptions options;
        options.now = [this]() { return clock.load(); };
        options.default_negative_ttl = 60;
        options.max_ttl = 3600;
        cache = make_cached_resolver(std::move(upstream), file, options);
    }

    std::atomic<std::int64_t> clock{kStartTime};
    CountingResolver* counter = nullptr;
    std::unique_ptr<Resolver> cache;
};

// Sends what is written to stderr (fd 2) into a file for the life of this object.
class StderrCapture {
public:
    StderrCapture() : saved_(::dup(STDERR_FILENO))
    {
        int file = ::open(dir_.file("stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ::dup2(file, STDERR_FILENO);
        ::close(file);
    }
    ~StderrCapture() { restore(); }

    // What was written so far (stops capturing).
    std::string text()
    {
        restore();
        std::ifstream in(dir_.file("stderr"));
        std::ostringstream out;
        out << in.rdbuf();
        return out.str();
    }

private:
    void restore()
    {
        if (saved_ >= 0) {
            ::dup2(saved_, STDERR_FILENO);
            ::close(saved_);
            saved_ = -1;
        }
    }

    ScratchDir dir_;
    int saved_;
};

std::string file_text(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

int count_lines(const std::string& text, const std::string& needle)
{
    int count = 0;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        count += line.find(needle) != std::string::npos ? 1 : 0;
    }
    return count;
}

}  // namespace

TEST_CASE("a cached answer is reused, with the TTL it has left, until it expires", "[dns]")
{
    ScratchDir dir;
    Fixture f(dir.file("cache"));

    Answer first = f.cache->lookup("example.test", RecordType::a);
    CHECK(first.records == std::vector<std::string>{"192.0.2.1"});
    CHECK(first.ttl == 300);

    f.clock += 100;
    Answer second = f.cache->lookup("EXAMPLE.test.", RecordType::a);
    CHECK(second.records == first.records);
    CHECK(second.ttl == 200);
    CHECK(f.counter->count() == 1);

    f.clock += 200;  // expires exactly now
    f.cache->lookup("example.test", RecordType::a);
    CHECK(f.counter->count() == 2);
}

TEST_CASE("negative answers are kept for their SOA minimum, or a default without SOA", "[dns]")
{
    ScratchDir dir;
    Fixture f(dir.file("cache"));

    // NXDOMAIN under a SOA with negative TTL 120.
    CHECK(f.cache->lookup("nope.example.test", RecordType::a).outcome == Outcome::nxdomain);
    f.clock += 119;
    Answer kept = f.cache->lookup("nope.example.test", RecordType::a);
    CHECK(kept.outcome == Outcome::nxdomain);
    CHECK(kept.ttl == 1);
    CHECK(kept.zone == std::optional<std::string>("example.test"));
    CHECK(f.counter->count() == 1);
    f.clock += 1;
    f.cache->lookup("nope.example.test", RecordType::a);
    CHECK(f.counter->count() == 2);

    // NODATA without a SOA: kept for the default 60 s, still reported with TTL 0.
    Answer nodata = f.cache->lookup("7.2.0.192.in-addr.arpa", RecordType::txt);
    CHECK(nodata.outcome == Outcome::nodata);
    f.clock += 59;
    CHECK(f.cache->lookup("7.2.0.192.in-addr.arpa", RecordType::txt).ttl == 0);
    CHECK(f.counter->count() == 3);
    f.clock += 1;
    f.cache->lookup("7.2.0.192.in-addr.arpa", RecordType::txt);
    CHECK(f.counter->count() == 4);
}

TEST_CASE("temperror answers are never cached", "[dns]")
{
    ScratchDir dir;
    Fixture f(dir.file("cache"));
    CHECK(f.cache->lookup("slow.example.test", RecordType::txt).outcome == Outcome::temperror);
    CHECK(f.cache->lookup("slow.example.test", RecordType::txt).outcome == Outcome::temperror);
    CHECK(f.counter->count() == 2);
    CHECK(read_cache(dir.file("cache")).empty());
}

TEST_CASE("TTLs above the maximum are shortened to it", "[dns]")
{
    ScratchDir dir;
    std::string zone = dir.write("long.zone", "long.test. 999999 IN A 192.0.2.1\n");
    CacheOptions options;
    std::int64_t now = kStartTime;
    options.now = [&now]() { return now; };
    options.max_ttl = 3600;
    auto cache = make_cached_resolver(make_zone_resolver({zone}), dir.file("cache"), options);

    CHECK(cache->lookup("long.test", RecordType::a).ttl == 3600);
    auto entries = read_cache(dir.file("cache"));
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].expires == kStartTime + 3600);
}

TEST_CASE("answers stay in the file for the next resolver, odd octets included", "[dns]")
{
    ScratchDir dir;
    std::vector<Answer> before;
    {
        Fixture f(dir.file("cache"));
        before.push_back(f.cache->lookup("raw.example.test", RecordType::txt));
        before.push_back(f.cache->lookup("example.test", RecordType::mx));
        before.push_back(f.cache->lookup("nope.example.test", RecordType::a));
    }

    Fixture again(dir.file("cache"));
    again.clock += 10;
    std::vector<Answer> after;
    after.push_back(again.cache->lookup("raw.example.test", RecordType::txt));
    after.push_back(again.cache->lookup("example.test", RecordType::mx));
    after.push_back(again.cache->lookup("nope.example.test", RecordType::a));
    CHECK(again.counter->count() == 0);
    for (std::size_t i = 0; i < before.size(); ++i) {
        CHECK(after[i].outcome == before[i].outcome);
        CHECK(after[i].records == before[i].records);
        CHECK(after[i].ttl == before[i].ttl - 10);
        CHECK(after[i].zone == before[i].zone);
    }
}

TEST_CASE("concurrent askers of one question share a single upstream lookup", "[dns]")
{
    ScratchDir dir;
    Fixture f(dir.file("cache"), 200ms);
    constexpr int kThreads = 8;
    std::vector<std::thread> threads;
    std::atomic<int> wrong{0};
    for (int i = 0; i < kThreads; ++i) {
        threads.emplace_back([&]() {
            if (f.cache->lookup("mx.example.test", RecordType::a).records !=
                std::vector<std::string>{"192.0.2.25"}) {
                ++wrong;
            }
        });
    }
    for (std::thread& thread : threads) {
        thread.join();
    }
    CHECK(wrong == 0);
    CHECK(f.counter->count() == 1);
}

TEST_CASE("two processes share one cache file, each seeing what the other stored", "[dns]")
{
    ScratchDir dir;
    std::string file = dir.file("cache");
    constexpr int kNamesEach = 200;

    // Both processes open the file, then each stores its own names at the same time.
    Fixture parent(file);
    pid_t child = ::fork();
    if (child == 0) {
        Fixture mine(file);
        for (int i = 0; i < kNamesEach; ++i) {
            mine.cache->lookup("child" + std::to_string(i) + ".example.test", RecordType::a);
        }
        ::_exit(mine.counter->count() == kNamesEach ? 0 : 1);
    }
    for (int i = 0; i < kNamesEach; ++i) {
        parent.cache->lookup("parent" + std::to_string(i) + ".example.test", RecordType::a);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);

    // The parent opened the file before the child wrote: it still reads the child's answers.
    int before = parent.counter->count();
    for (int i = 0; i < kNamesEach; ++i) {
        Answer answer =
            parent.cache->lookup("child" + std::to_string(i) + ".example.test", RecordType::a);
        CHECK(answer.outcome == Outcome::nxdomain);
    }
    CHECK(parent.counter->count() == before);

    // Every line of both writers is whole.
    StderrCapture errors;
    CHECK(read_cache(file).size() == 2 * kNamesEach);
    Fixture third(file);
    CHECK(errors.text().empty());
}

TEST_CASE("a corrupt cache file warns once and runs empty without touching the file", "[dns]")
{
    ScratchDir dir;
    std::string garbage("\x89PNG\r\n\x1a\nnot a cache at all\n", 27);
    std::string file = dir.write("cache", garbage);

    StderrCapture errors;
    Fixture f(file);
    f.cache->lookup("example.test", RecordType::a);
    f.cache->lookup("example.test", RecordType::a);
    f.cache->lookup("nope.example.test", RecordType::a);
    std::string warnings = errors.text();

    CHECK(f.counter->count() == 2);  // the in-memory cache still works
    CHECK(file_text(file) == garbage);
    CHECK(count_lines(warnings, "warning") == 1);
    CHECK_THAT(warnings, Catch::Contains("dns cache " + file + ": not a relaygate dns cache"));
    CHECK_THAT(warnings, Catch::Contains("-- caching in memory only, the file is left as it is"));
    CHECK_THROWS_WITH(read_cache(file), file + " is not a relaygate dns cache");
}

TEST_CASE("a cache file from a newer version is left alone", "[dns]")
{
    ScratchDir dir;
    std::string newer = "relaygate-dns-cache 2\nsomething we cannot read\n";
    std::string file = dir.write("cache", newer);

    StderrCapture errors;
    Fixture f(file);
    CHECK(f.cache->lookup("example.test", RecordType::a).ok());
    std::string warnings = errors.text();

    CHECK(file_text(file) == newer);
    CHECK(count_lines(warnings, "warning") == 1);
    CHECK_THAT(warnings, Catch::Contains("written by a newer relaygate (cache format 2, this "
                                         "one reads 1)"));
    CHECK_THROWS_AS(read_cache(file), Error);
    CHECK_THROWS_AS(prune_cache(file, kStartTime), Error);
    CHECK(file_text(file) == newer);
}

TEST_CASE("damaged and torn lines are skipped and the rest of the cache is used", "[dns]")
{
    ScratchDir dir;
    std::string file = dir.file("cache");
    {
        Fixture f(file);
        f.cache->lookup("example.test", RecordType::a);
        f.cache->lookup("mx.example.test", RecordType::a);
    }

    // Damage one byte of the first entry, and leave a torn line at the end as a crash would.
    std::string text = file_text(file);
    std::size_t first_entry = text.find('\n') + 1;
    text[text.find("192.0.2.1", first_entry)] = '7';
    text += "1700000999\t300\t1\tfound\ttorn.example";
    dir.write("cache", text);

    StderrCapture errors;
    Fixture f(file);
    CHECK(f.cache->lookup("mx.example.test", RecordType::a).ok());
    CHECK(f.counter->count() == 0);  // the intact entry is used
    CHECK(f.cache->lookup("example.test", RecordType::a).records ==
          std::vector<std::string>{"192.0.2.1"});  // the damaged one is asked again, correctly
    CHECK(f.counter->count() == 1);
    std::string warnings = errors.text();
    CHECK(count_lines(warnings, "warning") == 1);
    CHECK_THAT(warnings, Catch::Contains("skipped 1 damaged line(s)"));

    // The answer appended after the torn line starts on a line of its own.
    auto entries = read_cache(file);
    REQUIRE(entries.size() == 2);
    CHECK(entries[0].name == "example.test");
    CHECK(entries[0].answer.records == std::vector<std::string>{"192.0.2.1"});
}

TEST_CASE("the cache lists its newest entry per question with expiry and TTL", "[dns]")
{
    ScratchDir dir;
    std::string file = dir.file("cache");
    Fixture f(file);
    f.cache->lookup("mx.example.test", RecordType::aaaa);
    f.cache->lookup("example.test", RecordType::txt);
    f.clock += 1000;
    f.cache->lookup("example.test", RecordType::txt);  // expired, stored again
    f.cache->lookup("nope.example.test", RecordType::a);

    auto entries = read_cache(file);
    REQUIRE(entries.size() == 3);
    CHECK(entries[0].name == "example.test");
    CHECK(entries[0].type == RecordType::txt);
    CHECK(entries[0].expires == kStartTime + 1000 + 300);
    CHECK(entries[0].answer.ttl == 300);
    CHECK(entries[1].name == "mx.example.test");
    CHECK(entries[1].expires == kStartTime + 300);
    CHECK(entries[2].name == "nope.example.test");
    CHECK(entries[2].answer.outcome == Outcome::nxdomain);
    CHECK(entries[2].answer.ttl == 120);

    CHECK(read_cache(dir.file("missing")).empty());
}

TEST_CASE("pruning drops expired entries and writers follow the new file", "[dns]")
{
    ScratchDir dir;
    std::string file = dir.file("cache");
    Fixture f(file);
    f.cache->lookup("nope.example.test", RecordType::a);  // expires at +120
    f.cache->lookup("example.test", RecordType::a);       // expires at +300
    f.cache->lookup("example.test", RecordType::a);       // a hit: no new line

    PruneResult result = prune_cache(file, kStartTime + 200);
    CHECK(result.kept == 1);
    CHECK(result.removed == 1);
    auto entries = read_cache(file);
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].name == "example.test");

    // The open resolver appends into the new file, not the replaced one.
    f.cache->lookup("mx.example.test", RecordType::a);
    CHECK(read_cache(file).size() == 2);

    CHECK(prune_cache(dir.file("missing"), kStartTime).kept == 0);
}

TEST_CASE("an empty cache file name keeps the cache in memory only", "[dns]")
{
    Fixture f("");
    f.cache->lookup("example.test", RecordType::a);
    f.cache->lookup("example.test", RecordType::a);
    CHECK(f.counter->count() == 1);
}
