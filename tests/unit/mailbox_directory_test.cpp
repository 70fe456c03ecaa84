// Tests of reading Maildirs and directory trees.

#include <catch2/catch.hpp>

#include "unit/mailbox_test_support.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

using mailbox_test::read_all;
using mailbox_test::TempDir;
using relaygate::MessageStream;

namespace {

std::vector<std::string> relative_paths(const std::vector<relaygate::RawMessage>& messages,
                                        const std::filesystem::path& root)
{
    std::vector<std::string> paths;
    for (const auto& message : messages)
        paths.push_back(std::filesystem::path(message.path).lexically_relative(root).string());
    return paths;
}

bool contains(const std::vector<std::string>& lines, const std::string& line)
{
    return std::find(lines.begin(), lines.end(), line) != lines.end();
}

}  // namespace

TEST_CASE("a Maildir is read cur/ then new/, each sorted by name, tmp/ ignored", "[mailbox]")
{
    TempDir dir;
    dir.write("cur/2.host:2,S", "A: cur2\n\n");
    dir.write("cur/1.host:2,", "A: cur1\n\n");
    dir.write("new/0.host", "A: new0\n\n");
    dir.write("new/3.host", "A: new3\n\n");
    dir.write("tmp/9.host", "A: tmp\n\n");
    dir.write("cur/.hidden", "A: hidden\n\n");
    dir.write("dovecot-uidlist", "3 V1\n");
    dir.write("dovecot.index.log", "binary");

    auto messages = read_all({dir.path().string()});
    CHECK(relative_paths(messages, dir.path()) ==
          std::vector<std::string>{"cur/1.host:2,", "cur/2.host:2,S", "new/0.host",
                                   "new/3.host"});
    for (std::size_t i = 0; i < messages.size(); ++i)
        CHECK(messages[i].index == i);
}

TEST_CASE("a directory is walked recursively in sorted order, skipping hidden and Dovecot "
          "files, and its indexes count across files",
          "[mailbox]")
{
    TempDir dir;
    dir.write("b.eml", "A: b\n\n");
    dir.write("a/z.eml", "A: az\n\n");
    dir.write("a/inner/m.eml", "A: aim\n\n");
    dir.write("c.mbox", "From x@y Mon Jan  1 00:00:00 2024\nA: c1\n\n\n"
                        "From x@y Mon Jan  1 00:00:01 2024\nA: c2\n\n");
    dir.write(".hidden.eml", "A: hidden\n\n");
    dir.write(".git/objects/x", "A: git\n\n");
    dir.write("dovecot.index.cache", "binary");
    dir.write("maildir/cur/1", "A: md1\n\n");
    dir.write("maildir/new/2", "A: md2\n\n");
    dir.write("maildir/tmp/3", "A: md3\n\n");
    dir.write("empty.eml", "");

    MessageStream stream({dir.path().string()});
    auto messages = read_all(stream);
    CHECK(relative_paths(messages, dir.path()) ==
          std::vector<std::string>{"a/inner/m.eml", "a/z.eml", "b.eml", "c.mbox", "c.mbox",
                                   "empty.eml", "maildir/cur/1", "maildir/new/2"});
    for (std::size_t i = 0; i < messages.size(); ++i)
        CHECK(messages[i].index == i);
    REQUIRE(messages.size() == 8);
    CHECK(messages[4].bytes == "A: c2\n\n");
    CHECK(messages[5].bytes.empty());
    CHECK(messages[5].error.empty());
    CHECK(stream.errors().empty());
}

TEST_CASE("a symlink loop is reported once and not followed; other links are read once",
          "[mailbox]")
{
    TempDir dir;
    dir.write("top/sub/m.eml", "A: m\n\n");
    std::filesystem::create_directory_symlink(dir.path() / "top", dir.path() / "top/sub/back");
    std::filesystem::create_directory_symlink(dir.path() / "top/sub", dir.path() / "top/again");

    std::string top = (dir.path() / "top").string();
    MessageStream stream({top});
    auto messages = read_all(stream);
    CHECK(relative_paths(messages, dir.path()) == std::vector<std::string>{"top/again/m.eml"});
    REQUIRE(stream.errors().size() == 1);
    CHECK(stream.errors()[0] == "symlink loop at " + top + "/again/back");
}

TEST_CASE("unreadable files are reported in errors() and skipped, the rest is read",
          "[mailbox]")
{
    TempDir dir;
    dir.write("a.eml", "A: a\n\n");
    std::string locked = dir.write("b.eml", "A: b\n\n");
    dir.write("c.eml", "A: c\n\n");
    // A dangling link fails to open even for root, who ignores file permissions.
    std::filesystem::create_symlink(dir.path() / "gone.eml", dir.path() / "d.eml");
    ::chmod(locked.c_str(), 0);

    MessageStream stream({dir.path().string()});
    auto messages = read_all(stream);
    std::string dangling = (dir.path() / "d.eml").string();
    CHECK(contains(stream.errors(), "cannot open " + dangling + ": No such file or directory"));
    auto paths = relative_paths(messages, dir.path());
    CHECK(std::find(paths.begin(), paths.end(), "a.eml") != paths.end());
    CHECK(std::find(paths.begin(), paths.end(), "c.eml") != paths.end());
    if (::geteuid() != 0) {
        CHECK(contains(stream.errors(), "cannot open " + locked + ": Permission denied"));
        CHECK(paths == std::vector<std::string>{"a.eml", "c.eml"});
    }
}

TEST_CASE("an unreadable directory is reported and the walk goes on", "[mailbox]")
{
    if (::geteuid() == 0) {
        WARN("running as root: directory permissions cannot be made to fail");
        return;
    }
    TempDir dir;
    dir.write("a/m.eml", "A: a\n\n");
    dir.write("b/m.eml", "A: b\n\n");
    std::string locked = (dir.path() / "a").string();
    ::chmod(locked.c_str(), 0);

    MessageStream stream({dir.path().string()});
    auto messages = read_all(stream);
    ::chmod(locked.c_str(), 0700);
    CHECK(relative_paths(messages, dir.path()) == std::vector<std::string>{"b/m.eml"});
    CHECK(contains(stream.errors(), "cannot read directory " + locked + ": Permission denied"));
}

TEST_CASE("a FIFO inside a directory is skipped without blocking", "[mailbox]")
{
    TempDir dir;
    dir.write("a.eml", "A: a\n\n");
    std::string fifo = (dir.path() / "b.fifo").string();
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);

    auto messages = read_all({dir.path().string()});
    CHECK(relative_paths(messages, dir.path()) == std::vector<std::string>{"a.eml"});
}
