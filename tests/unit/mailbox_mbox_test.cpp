// Tests of reading mbox files and single message files.

#include <catch2/catch.hpp>

#include "unit/mailbox_test_support.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

using mailbox_test::read_all;
using mailbox_test::TempDir;
using relaygate::MboxFormat;
using relaygate::MessageStream;
using relaygate::RawMessage;
using relaygate::ReaderOptions;

namespace {

const std::string kFromLine1 = "From alice@example.com Thu Aug 22 12:36:23 2002\n";
const std::string kFromLine2 = "From MAILER-DAEMON Sun Aug  7 11:40:37 2022 extra info\n";

std::string read_file(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
}

// The mboxrd rule restated: one '>' goes from each line that is '>'s then "From ".
std::string unquote_mboxrd(const std::string& text)
{
    std::string out;
    std::size_t line = 0;
    while (line < text.size()) {
        std::size_t end = text.find('\n', line);
        end = end == std::string::npos ? text.size() : end + 1;
        std::size_t from = text.find_first_not_of('>', line);
        bool quoted = from > line && from != std::string::npos &&
                      text.compare(from, 5, "From ") == 0;
        out.append(text, quoted ? line + 1 : line, end - (quoted ? line + 1 : line));
        line = end;
    }
    return out;
}

std::string crlf(std::string text)
{
    std::string out;
    for (char c : text) {
        if (c == '\n')
            out += '\r';
        out += c;
    }
    return out;
}

}  // namespace

TEST_CASE("an mbox is split at From_ lines after an empty line, which are removed",
          "[mailbox]")
{
    TempDir dir;
    std::string one = "Subject: one\n\nbody one\nFrom here, not after an empty line\n";
    std::string two = "Subject: two\n\nbody two\n";
    std::string mbox = kFromLine1 + one + "\n" + kFromLine2 + two;
    std::string path = dir.write("box.mbox", mbox);

    auto messages = read_all({path});
    REQUIRE(messages.size() == 2);
    CHECK(messages[0].bytes == one);
    CHECK(messages[1].bytes == two);
    CHECK(messages[0].index == 0);
    CHECK(messages[1].index == 1);
    CHECK(messages[0].path == path);
    CHECK(messages[0].offset == kFromLine1.size());
    CHECK(messages[1].offset == mbox.find("Subject: two"));
    CHECK(messages[0].error.empty());
    CHECK(messages[1].error.empty());
}

TEST_CASE("CRLF mboxes split the same way and keep their CRLF line ends", "[mailbox]")
{
    TempDir dir;
    std::string one = crlf("Subject: one\n\nbody one\n");
    std::string two = crlf("Subject: two\n\nbody two\n");
    std::string mbox = crlf(kFromLine1) + one + "\r\n" + crlf(kFromLine2) + two;

    auto messages = read_all({dir.write("crlf.mbox", mbox)});
    REQUIRE(messages.size() == 2);
    CHECK(messages[0].bytes == one);
    CHECK(messages[1].bytes == two);
    CHECK(messages[1].offset == mbox.find("Subject: two"));
}

TEST_CASE("a From line in a body without a date is text, not a separator", "[mailbox]")
{
    TempDir dir;
    // The shape of CPython's mailbox_01.mbox: extra words on the From_ line, and an unquoted
    // "From " line after an empty line in the body.
    std::string message = "From: foo\nSubject: unquoted From\n\nHi\n\nFrom now on\n";
    auto messages = read_all({dir.write("unquoted.mbox", kFromLine2 + message)});
    REQUIRE(messages.size() == 1);
    CHECK(messages[0].bytes == message);
}

TEST_CASE("CPython's mailbox_01.mbox is one message with its unquoted From line kept",
          "[mailbox]")
{
    std::filesystem::path fixture =
        std::filesystem::path(RELAYGATE_TESTDATA) / "mime/cpython-email/mailbox_01.mbox";
    if (!std::filesystem::exists(fixture)) {
        WARN("not in this copy of the test data: " << fixture.string());
        return;
    }
    std::string bytes = read_file(fixture);
    auto messages = read_all({fixture.string()});
    REQUIRE(messages.size() == 1);
    CHECK(messages[0].bytes == bytes.substr(bytes.find('\n') + 1));
    CHECK(messages[0].error.empty());
}

TEST_CASE("mboxrd removes one '>' from every quoted From line, mboxo only from '>From '",
          "[mailbox]")
{
    TempDir dir;
    std::string quoted = "Subject: q\n\n>From a\n>>From b\n>>>From c\n>Fromage\n> From d\n";
    std::string path = dir.write("quoted.mbox", kFromLine1 + quoted);

    ReaderOptions mboxrd;
    mboxrd.mbox_format = MboxFormat::mboxrd;
    auto rd = read_all({path}, mboxrd);
    REQUIRE(rd.size() == 1);
    CHECK(rd[0].bytes == "Subject: q\n\nFrom a\n>From b\n>>From c\n>Fromage\n> From d\n");

    ReaderOptions mboxo;
    mboxo.mbox_format = MboxFormat::mboxo;
    auto o = read_all({path}, mboxo);
    REQUIRE(o.size() == 1);
    CHECK(o[0].bytes == "Subject: q\n\nFrom a\n>>From b\n>>>From c\n>Fromage\n> From d\n");
}

TEST_CASE("offsets point at each message's bytes in the mbox file", "[mailbox]")
{
    TempDir dir;
    std::string mbox;
    for (int i = 0; i < 50; ++i) {
        mbox += "From sender" + std::to_string(i) + "@example.com Mon Jan  1 00:00:0" +
                std::to_string(i % 10) + " 2024\n";
        mbox += "Subject: " + std::to_string(i) + "\n\n" + std::string(i * 37, 'x') + "\n\n";
    }
    auto messages = read_all({dir.write("offsets.mbox", mbox)});
    REQUIRE(messages.size() == 50);
    for (const RawMessage& message : messages) {
        INFO("message " << message.index);
        CHECK(mbox.compare(message.offset, message.bytes.size(), message.bytes) == 0);
        CHECK(message.bytes.rfind("Subject: " + std::to_string(message.index) + "\n", 0) == 0);
    }
}

TEST_CASE("an oversize mbox message is cut at the limit with an error; the next one is whole",
          "[mailbox]")
{
    TempDir dir;
    std::string big = "Subject: big\n\n" + std::string(5000, 'b') + "\n";
    std::string small = "Subject: small\n\nok\n";
    std::string path = dir.write("big.mbox", kFromLine1 + big + "\n" + kFromLine2 + small);

    ReaderOptions options;
    options.max_message_bytes = 1000;
    auto messages = read_all({path}, options);
    REQUIRE(messages.size() == 2);
    CHECK(messages[0].error == "message exceeds 1000 bytes");
    CHECK(messages[0].bytes == big.substr(0, 1000));
    CHECK(messages[1].bytes == small);
    CHECK(messages[1].error.empty());
}

TEST_CASE("an oversize single message file is cut at the limit with an error", "[mailbox]")
{
    TempDir dir;
    std::string big = "Subject: big\n\n" + std::string(5000, 'b');
    ReaderOptions options;
    options.max_message_bytes = 1000;
    auto messages = read_all({dir.write("big.eml", big)}, options);
    REQUIRE(messages.size() == 1);
    CHECK(messages[0].error == "message exceeds 1000 bytes");
    CHECK(messages[0].bytes == big.substr(0, 1000));

    options.max_message_bytes = big.size();
    auto exact = read_all({dir.write("exact.eml", big)}, options);
    CHECK(exact.at(0).error.empty());
    CHECK(exact.at(0).bytes == big);
}

TEST_CASE("an mbox cut off mid-line is returned with an error; a single .eml is not",
          "[mailbox]")
{
    TempDir dir;
    std::string whole = "Subject: one\n\nbody\n";
    std::string cut = "Subject: two\n\nthe body stops in the mid";
    auto messages =
        read_all({dir.write("cut.mbox", kFromLine1 + whole + "\n" + kFromLine2 + cut)});
    REQUIRE(messages.size() == 2);
    CHECK(messages[0].error.empty());
    CHECK(messages[1].bytes == cut);
    CHECK(messages[1].error == "mbox ends mid-message");

    auto single = read_all({dir.write("no-final-newline.eml", cut)});
    REQUIRE(single.size() == 1);
    CHECK(single[0].bytes == cut);
    CHECK(single[0].error.empty());
    CHECK(single[0].offset == 0);
}

TEST_CASE("every SpamAssassin corpus file comes out as one message without its From_ line",
          "[mailbox]")
{
    std::filesystem::path corpus = std::filesystem::path(RELAYGATE_TESTDATA) / "corpus";
    MessageStream stream({corpus.string()});
    RawMessage message;
    std::size_t count = 0;
    std::size_t mismatches = 0;
    std::string previous_path;
    while (stream.next(message)) {
        CHECK(message.index == count);
        CHECK(message.path != previous_path);
        previous_path = message.path;
        std::string file = read_file(message.path);
        std::string want = file.rfind("From ", 0) == 0
                               ? unquote_mboxrd(file.substr(file.find('\n') + 1))
                               : file;
        if (message.bytes != want || !message.error.empty()) {
            ++mismatches;
            UNSCOPED_INFO("differs: " << message.path);
        }
        ++count;
    }
    std::size_t files = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(corpus))
        files += entry.is_regular_file() ? 1 : 0;
    CHECK(mismatches == 0);
    CHECK(count == files);
    CHECK(stream.errors().empty());
}

TEST_CASE("standard input is one message, or an mbox when it starts with From", "[mailbox]")
{
    TempDir dir;
    auto read_stdin_from = [](const std::string& file, ReaderOptions options) {
        int saved = ::dup(STDIN_FILENO);
        int fd = ::open(file.c_str(), O_RDONLY);
        ::dup2(fd, STDIN_FILENO);
        ::close(fd);
        auto messages = read_all({"-"}, options);
        ::dup2(saved, STDIN_FILENO);
        ::close(saved);
        return messages;
    };

    std::string single = "Subject: s\n\nbody\n";
    auto one = read_stdin_from(dir.write("single.eml", single), {});
    REQUIRE(one.size() == 1);
    CHECK(one[0].path == "-");
    CHECK(one[0].bytes == single);

    std::string mbox = kFromLine1 + "A: 1\n\n\n" + kFromLine2 + "B: 2\n\n";
    auto two = read_stdin_from(dir.write("stdin.mbox", mbox), {});
    REQUIRE(two.size() == 2);
    CHECK(two[0].bytes == "A: 1\n\n");
    CHECK(two[1].bytes == "B: 2\n\n");

    ReaderOptions small;
    small.max_message_bytes = 8;
    auto cut = read_stdin_from(dir.write("big.eml", single), small);
    REQUIRE(cut.size() == 1);
    CHECK(cut[0].bytes == single.substr(0, 8));
    CHECK(cut[0].error == "message exceeds 8 bytes");
}

TEST_CASE("a missing file is reported in errors() and the stream goes on", "[mailbox]")
{
    TempDir dir;
    std::string missing = (dir.path() / "missing.eml").string();
    std::string present = dir.write("present.eml", "A: 1\n\n");
    MessageStream stream({missing, present});
    auto messages = read_all(stream);
    REQUIRE(messages.size() == 1);
    CHECK(messages[0].path == present);
    REQUIRE(stream.errors().size() == 1);
    CHECK(stream.errors()[0] == "cannot open " + missing + ": No such file or directory");
}
