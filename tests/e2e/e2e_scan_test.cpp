// End-to-end: `relaygate scan` over mboxes and directories, as an administrator runs it: input
// order with several workers, --resume, --split, and inputs that cannot be read whole.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>

#include "e2e/run.hpp"

using namespace relaygate::e2e;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Enough messages that two workers overtake each other, few enough to stay quick.
constexpr int kMessages = 60;

std::vector<json> verdict_lines(const std::string& text)
{
    std::vector<json> out;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        if (!line.empty())
            out.push_back(json::parse(line));
    }
    return out;
}

// Message number n: a plain one, or every third one a copy of a sample with links, HTML or a
// DKIM signature, so that the checks take different times.
std::string message(int n)
{
    if (n % 3 == 1) {
        std::string sample = read_file(source_path(n % 2 ? "samples/passing.eml"
                                                         : "samples/spoofed.eml"));
        return "Subject: message " + std::to_string(n) + "\n" + sample;
    }
    return "From: Ann <ann@shop.example>\nTo: bob@corp.example\nSubject: message " +
           std::to_string(n) + "\nMessage-ID: <" + std::to_string(n) +
           "@shop.example>\nDate: Thu, 03 Dec 2026 10:00:00 +0000\n\nhello " +
           std::to_string(n) + " see http://www.shop.example/" + std::to_string(n) + "\n";
}

std::string mbox_of(int count)
{
    std::string mbox;
    for (int n = 0; n < count; ++n)
        mbox += "From ann@shop.example Thu Dec  3 10:00:00 2026\n" + message(n) + "\n";
    return mbox;
}

std::vector<std::string> scan_args(std::vector<std::string> extra)
{
    std::vector<std::string> args{"scan", "-q", "--dns", "offline", "--dns-zone",
                                  source_path("samples/dns.zone")};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

// What identifies a verdict and must not change between runs (timings and "minutes in the
// future" do).
std::string identity(const json& verdict)
{
    return verdict["source"].dump() + " " + verdict.value("subject", "") + " " +
           verdict["action"].get<std::string>() + " " + verdict["score"].dump();
}

}  // namespace

TEST_CASE("scan gives verdicts in input order for an mbox and a directory with two workers",
          "[e2e][scan]")
{
    std::string dir = temp_dir();
    write_file(dir + "/in.mbox", mbox_of(kMessages));
    fs::create_directories(dir + "/tree/b");
    for (int n = 0; n < kMessages; ++n) {
        char name[32];
        std::snprintf(name, sizeof name, "%s/%03d.eml", n % 2 ? "b" : ".", n);
        write_file(dir + "/tree/" + name, message(n));
    }

    for (std::string workers : {"threads", "processes"}) {
        Run run = run_relaygate(scan_args({"-j2", "--workers", workers, dir + "/in.mbox",
                                           dir + "/tree"}));
        INFO(workers << ": " << run.err);
        REQUIRE(run.status == 0);
        std::vector<json> got = verdict_lines(run.out);
        REQUIRE(got.size() == 2 * kMessages);

        for (int n = 0; n < kMessages; ++n) {
            CHECK(got[n]["source"]["path"] == dir + "/in.mbox");
            CHECK(got[n]["source"]["index"] == n);
            CHECK(got[n]["subject"] == "message " + std::to_string(n));
        }
        // A directory is walked sorted and recursively: ./000, 002, ... then b/001, 003, ...
        std::vector<std::string> paths;
        for (int n = kMessages; n < 2 * kMessages; ++n)
            paths.push_back(got[n]["source"]["path"]);
        CHECK(std::is_sorted(paths.begin(), paths.end()));
        CHECK(paths.front() == dir + "/tree/000.eml");
        CHECK(paths.back() == dir + "/tree/b/059.eml");
    }
}

TEST_CASE("scan --resume after a cut-off output file continues exactly where it stopped",
          "[e2e][scan]")
{
    std::string dir = temp_dir();
    write_file(dir + "/in.mbox", mbox_of(kMessages));
    Run whole = run_relaygate(scan_args({"-j2", "-o", dir + "/whole.jsonl", dir + "/in.mbox"}));
    REQUIRE(whole.status == 0);
    std::string complete = read_file(dir + "/whole.jsonl");

    // As a run killed while writing leaves it: 25 whole lines and half of the 26th.
    std::size_t cut = 0;
    for (int line = 0; line < 25; ++line)
        cut = complete.find('\n', cut) + 1;
    std::size_t half = (complete.find('\n', cut) - cut) / 2;
    write_file(dir + "/part.jsonl", complete.substr(0, cut + half));

    Run resumed = run_relaygate({"scan", "--dns", "offline", "--dns-zone",
                                 source_path("samples/dns.zone"), "-j2", "--resume", "-o",
                                 dir + "/part.jsonl", dir + "/in.mbox"});
    INFO(resumed.err);
    REQUIRE(resumed.status == 0);
    CHECK(resumed.err.find("25 skipped (--resume)") != std::string::npos);

    std::vector<json> expected = verdict_lines(complete);
    std::vector<json> got = verdict_lines(read_file(dir + "/part.jsonl"));
    REQUIRE(got.size() == expected.size());
    for (std::size_t i = 0; i < got.size(); ++i)
        CHECK(identity(got[i]) == identity(expected[i]));
}

TEST_CASE("scan --resume refuses inputs other than those of the run it continues",
          "[e2e][scan]")
{
    std::string dir = temp_dir();
    write_file(dir + "/in.mbox", mbox_of(kMessages));
    write_file(dir + "/other.mbox", mbox_of(kMessages));
    Run first = run_relaygate(scan_args({"-o", dir + "/out.jsonl", dir + "/in.mbox"}));
    REQUIRE(first.status == 0);
    std::string written = read_file(dir + "/out.jsonl");

    Run other = run_relaygate(scan_args({"--resume", "-o", dir + "/out.jsonl",
                                         dir + "/other.mbox"}));
    CHECK(other.status == 2);
    CHECK(other.err.find("--resume: the output ends with the verdict of " + dir + "/in.mbox#") !=
          std::string::npos);
    CHECK(read_file(dir + "/out.jsonl") == written);

    write_file(dir + "/short.mbox", mbox_of(3));
    Run fewer = run_relaygate(scan_args({"--resume", "-o", dir + "/out.jsonl",
                                         dir + "/short.mbox"}));
    CHECK(fewer.status == 2);
    CHECK(fewer.err.find("these inputs hold only 3 messages") != std::string::npos);
}

TEST_CASE("scan --split files every message into a Maildir named by its action", "[e2e][scan]")
{
    std::string dir = temp_dir();
    write_file(dir + "/in.mbox", mbox_of(12));
    Run run = run_relaygate(scan_args({"-j2", "--split", dir + "/split", dir + "/in.mbox"}));
    INFO(run.err);
    REQUIRE(run.status == 0);

    std::map<std::string, int> by_action;
    for (const json& verdict : verdict_lines(run.out))
        ++by_action[verdict["action"]];
    REQUIRE(!by_action.empty());
    for (const auto& [action, count] : by_action) {
        std::string maildir = dir + "/split/" + action;
        CHECK(fs::is_directory(maildir + "/cur"));
        CHECK(fs::is_directory(maildir + "/tmp"));
        auto files = std::distance(fs::directory_iterator(maildir + "/new"),
                                   fs::directory_iterator());
        CHECK(files == count);
    }
    // The filed copy is the message as read.
    for (const auto& entry : fs::directory_iterator(dir + "/split/" +
                                                     by_action.begin()->first + "/new")) {
        CHECK(read_file(entry.path()).find("Subject: message ") != std::string::npos);
    }
}

TEST_CASE("scan reports unreadable inputs, a symlink loop and a cut-off mbox, scans the rest "
          "and exits 3",
          "[e2e][scan]")
{
    std::string dir = temp_dir();
    fs::create_directories(dir + "/tree/sub");
    write_file(dir + "/tree/a.eml", message(0));
    write_file(dir + "/tree/sub/b.eml", message(2));
    fs::create_symlink("..", dir + "/tree/sub/up");             // a loop back up the tree
    fs::create_symlink("itself", dir + "/tree/itself");         // a link to itself
    fs::create_symlink("no-such-file", dir + "/tree/dangling");  // cannot be opened
    bool as_root = geteuid() == 0;  // root reads a mode-000 file anyway
    if (!as_root) {
        write_file(dir + "/tree/locked.eml", message(4));
        fs::permissions(dir + "/tree/locked.eml", fs::perms::none);
    }
    std::string mbox = mbox_of(3);
    write_file(dir + "/cut.mbox", mbox.substr(0, mbox.rfind("hello") + 3));  // mid-line

    Run run = run_relaygate(scan_args({"-j2", dir + "/tree", dir + "/cut.mbox"}));
    CHECK(run.status == 3);
    CHECK(run.err.find("symlink loop at " + dir + "/tree/sub/up") != std::string::npos);
    CHECK(run.err.find("cannot open " + dir + "/tree/itself") != std::string::npos);
    CHECK(run.err.find("cannot open " + dir + "/tree/dangling: No such file or directory") !=
          std::string::npos);
    if (!as_root)
        CHECK(run.err.find("locked.eml: Permission denied") != std::string::npos);
    CHECK(run.err.find(dir + "/cut.mbox#2: mbox ends mid-message") != std::string::npos);

    std::vector<json> got = verdict_lines(run.out);
    REQUIRE(got.size() == 5);
    CHECK(got[0]["source"]["path"] == dir + "/tree/a.eml");
    CHECK(got[1]["source"]["path"] == dir + "/tree/sub/b.eml");
    CHECK(got[2]["error"].is_null());
    CHECK(got[4]["source"]["index"] == 2);
    CHECK(got[4]["error"]["kind"] == "truncated");
    CHECK(got[4]["action"] != "accept");  // never accepted unjudged
}

TEST_CASE("scan with a corrupt DNS cache file warns, leaves the file alone and scans everything",
          "[e2e][scan][live]")
{
    std::string dir = temp_dir();
    write_file(dir + "/in.mbox", mbox_of(6));
    std::string garbage = "this is not a dns cache\n\x01\x02\x03 half a line";
    write_file(dir + "/dns.cache", garbage);

    Run run = run_relaygate({"scan", "-q", "-j2", "--dns", "cached", "--dns-cache",
                             dir + "/dns.cache", "--resolver", live_dns_server(),
                             dir + "/in.mbox"});
    INFO(run.err);
    CHECK(run.status == 0);
    CHECK(run.err.find("dns cache " + dir + "/dns.cache: not a relaygate dns cache") !=
          std::string::npos);
    // Reported once, by the scan, not once per worker.
    CHECK(run.err.find("not a relaygate dns cache") == run.err.rfind("not a relaygate dns cache"));
    CHECK(read_file(dir + "/dns.cache") == garbage);

    std::vector<json> got = verdict_lines(run.out);
    REQUIRE(got.size() == 6);
    // Answers still come from the server: the passing sample's SPF passes.
    CHECK(got[1]["auth"]["spf"]["result"] == "pass");
    for (const json& verdict : got)
        CHECK(verdict["error"].is_null());
}
