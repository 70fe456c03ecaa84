// Tests that reading large inputs keeps memory bounded.

#include <catch2/catch.hpp>

#include "unit/mailbox_test_support.hpp"

#include <unistd.h>

#include <algorithm>
#include <fstream>

using mailbox_test::TempDir;
using relaygate::MessageStream;
using relaygate::RawMessage;
using relaygate::ReaderOptions;

namespace {

// Resident set size now, from /proc/self/statm.
std::size_t resident_bytes()
{
    std::ifstream statm("/proc/self/statm");
    std::size_t total_pages = 0;
    std::size_t resident_pages = 0;
    statm >> total_pages >> resident_pages;
    return resident_pages * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

constexpr std::size_t kMiB = 1u << 20;

}  // namespace

TEST_CASE("a 50 MB mbox is streamed message by message in bounded memory", "[mailbox]")
{
    TempDir dir;
    std::string path = (dir.path() / "large.mbox").string();
    constexpr int kMessages = 5000;
    const std::string body_line(99, 'x');
    {
        std::ofstream out(path, std::ios::binary);
        for (int i = 0; i < kMessages; ++i) {
            out << "From sender@example.com Mon Jan  1 00:00:00 2024\n"
                << "Subject: message " << i << "\n\n";
            for (int line = 0; line < 100; ++line)
                out << body_line << '\n';
            out << '\n';
        }
    }
    REQUIRE(std::filesystem::file_size(path) > 50'000'000);

    std::size_t baseline = resident_bytes();
    std::size_t peak = baseline;
    MessageStream stream({path});
    RawMessage message;
    int count = 0;
    bool all_whole = true;
    while (stream.next(message)) {
        all_whole = all_whole && message.bytes.size() > 100 * body_line.size() &&
                    message.error.empty() &&
                    message.bytes.rfind("Subject: message " + std::to_string(count) + "\n", 0) == 0;
        if (count % 100 == 0)
            peak = std::max(peak, resident_bytes());
        ++count;
    }
    CHECK(count == kMessages);
    CHECK(all_whole);
    CHECK(peak - baseline < 8 * kMiB);
}

TEST_CASE("a 30 MB message in an mbox costs no more memory than the size limit", "[mailbox]")
{
    TempDir dir;
    std::string path = (dir.path() / "huge.mbox").string();
    {
        std::ofstream out(path, std::ios::binary);
        out << "From a@example.com Mon Jan  1 00:00:00 2024\nSubject: huge\n\n";
        // One line of 30 MB: line reading must not hold the whole line either.
        std::string chunk(kMiB, 'y');
        for (int i = 0; i < 30; ++i)
            out << chunk;
        out << "\n\nFrom b@example.com Mon Jan  1 00:00:01 2024\nSubject: after\n\nok\n";
    }

    ReaderOptions options;
    options.max_message_bytes = kMiB;
    std::size_t baseline = resident_bytes();
    MessageStream stream({path}, options);
    RawMessage message;
    REQUIRE(stream.next(message));
    std::size_t after_huge = resident_bytes();
    CHECK(message.bytes.size() == kMiB);
    CHECK(message.error == "message exceeds 1048576 bytes");
    REQUIRE(stream.next(message));
    CHECK(message.bytes == "Subject: after\n\nok\n");
    CHECK(message.error.empty());
    CHECK_FALSE(stream.next(message));
    CHECK(after_huge - std::min(after_huge, baseline) < 8 * kMiB);
}
