// End-to-end: `relaygate check` run as a user would, offline on the samples and live against
// a local unbound serving the same zone.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sstream>

#include "e2e/run.hpp"

using namespace relaygate::e2e;
using nlohmann::json;

namespace {

std::vector<json> verdicts(const Run& run)
{
    std::vector<json> out;
    std::istringstream lines(run.out);
    for (std::string line; std::getline(lines, line);) {
        if (!line.empty())
            out.push_back(json::parse(line));
    }
    return out;
}

std::vector<std::string> offline_args(std::vector<std::string> paths)
{
    std::vector<std::string> args{"check", "--dns", "offline", "--dns-zone",
                                  source_path("samples/dns.zone")};
    for (auto& path : paths)
        args.push_back(source_path(path));
    return args;
}

std::vector<std::string> dkim_results(const json& verdict)
{
    std::vector<std::string> out;
    for (const auto& signature : verdict["auth"]["dkim"])
        out.push_back(signature["result"]);
    return out;
}

// The three samples' expected authentication results and actions.
void require_sample_results(const std::vector<json>& got)
{
    REQUIRE(got.size() == 3);

    CHECK(got[0]["auth"]["spf"]["result"] == "pass");
    CHECK(dkim_results(got[0]) == std::vector<std::string>{"pass", "pass"});
    CHECK(got[0]["auth"]["dmarc"]["result"] == "pass");
    CHECK(got[0]["action"] == "accept");
    CHECK(got[0]["envelope"]["derived_from"] == "received");
    CHECK(got[0]["envelope"]["client_ip"] == "192.0.2.10");

    CHECK(got[1]["auth"]["spf"]["result"] == "fail");
    CHECK(dkim_results(got[1]) == std::vector<std::string>{"pass"});
    CHECK(got[1]["auth"]["dkim"][0]["domain"] == "attacker.example");
    CHECK(got[1]["auth"]["dmarc"]["result"] == "fail");
    CHECK(got[1]["action"] == "reject");

    CHECK(got[2]["auth"]["spf"]["result"] == "pass");
    CHECK(got[2]["auth"]["spf"]["domain"] == "lists.example");
    CHECK(dkim_results(got[2]) == std::vector<std::string>{"fail"});
    CHECK(got[2]["auth"]["dmarc"]["result"] == "fail");
    CHECK(got[2]["auth"]["dmarc"]["aligned"]["spf"] == false);
    CHECK(got[2]["action"] == "reject");
}

}  // namespace

TEST_CASE("check gives the samples their SPF, DKIM and DMARC results offline", "[e2e]")
{
    Run run = run_relaygate(offline_args(
        {"samples/passing.eml", "samples/spoofed.eml", "samples/forwarded.eml"}));
    INFO(run.err);
    REQUIRE(run.status == 0);
    auto got = verdicts(run);
    require_sample_results(got);
    for (const auto& verdict : got) {
        CHECK(verdict["schema"] == 1);
        CHECK(verdict["error"].is_null());
        CHECK(verdict["authentication_results"].get<std::string>().find("dmarc=") !=
              std::string::npos);
    }
}

TEST_CASE("check reads an mbox with >From quoting and gives the same results", "[e2e]")
{
    Run run = run_relaygate(offline_args({"samples/samples.mbox"}));
    INFO(run.err);
    REQUIRE(run.status == 0);
    auto got = verdicts(run);
    require_sample_results(got);
    for (std::size_t i = 0; i < got.size(); ++i)
        CHECK(got[i]["source"]["index"] == i);
    CHECK(got[1]["source"]["offset"].get<long>() > got[0]["source"]["offset"].get<long>());
}

TEST_CASE("check reads one message on standard input", "[e2e]")
{
    auto args = offline_args({});
    args.push_back("-");
    Run run = run_relaygate(args, read_file(source_path("samples/passing.eml")));
    INFO(run.err);
    REQUIRE(run.status == 0);
    auto got = verdicts(run);
    REQUIRE(got.size() == 1);
    CHECK(got[0]["source"]["path"] == "-");
    CHECK(got[0]["auth"]["dmarc"]["result"] == "pass");
}

TEST_CASE("check asks a live DNS server and agrees with the offline results", "[e2e][live]")
{
    std::vector<std::string> args{"check", "--dns", "live", "--resolver", live_dns_server(),
                                  "--dns-timeout", "3"};
    for (const char* path : {"samples/passing.eml", "samples/spoofed.eml",
                             "samples/forwarded.eml"})
        args.push_back(source_path(path));
    Run run = run_relaygate(args);
    INFO(run.err);
    REQUIRE(run.status == 0);
    require_sample_results(verdicts(run));
}

TEST_CASE("a DNS server that does not answer gives tempfail, not a negative answer", "[e2e]")
{
    // Nothing listens on this UDP port of 127.0.0.1, so every lookup times out or is refused.
    Run run = run_relaygate({"check", "--dns", "live", "--resolver", "127.0.0.1:9",
                             "--dns-timeout", "0.2", "--dns-retries", "0",
                             source_path("samples/passing.eml")});
    INFO(run.err);
    REQUIRE(run.status == 0);
    auto got = verdicts(run);
    REQUIRE(got.size() == 1);
    CHECK(got[0]["auth"]["spf"]["result"] == "temperror");
    CHECK(got[0]["action"] == "tempfail");
}

TEST_CASE("truncated, binary and empty inputs each get a verdict with error set", "[e2e]")
{
    std::string dir = temp_dir();
    std::string passing = read_file(source_path("samples/passing.eml"));
    write_file(dir + "/truncated.eml", passing.substr(0, 300));
    std::string binary;
    for (int i = 0; i < 4096; ++i)
        binary.push_back(static_cast<char>((i * 7919) % 256));
    write_file(dir + "/binary.eml", binary);
    write_file(dir + "/empty.eml", "");

    for (const char* name : {"truncated.eml", "binary.eml", "empty.eml"}) {
        DYNAMIC_SECTION(name)
        {
            Run run = run_relaygate({"check", "--dns", "offline", "--dns-zone",
                                     source_path("samples/dns.zone"), dir + "/" + name});
            INFO(run.err);
            REQUIRE(run.status == 0);
            auto got = verdicts(run);
            REQUIRE(got.size() == 1);
            CHECK_FALSE(got[0]["error"].is_null());
            CHECK(got[0]["action"] == "tempfail");
            CHECK(run.err.find(name) != std::string::npos);
        }
    }
}

TEST_CASE("a missing input file is reported and exits 3 while the rest are checked", "[e2e]")
{
    Run run = run_relaygate(offline_args({"samples/passing.eml", "samples/no-such.eml"}));
    CHECK(run.status == 3);
    CHECK(verdicts(run).size() == 1);
    CHECK(run.err.find("no-such.eml") != std::string::npos);
}

TEST_CASE("a rejected message makes check --fail-on reject exit 1", "[e2e]")
{
    auto args = offline_args({"samples/spoofed.eml"});
    args.push_back("--fail-on");
    args.push_back("reject");
    CHECK(run_relaygate(args).status == 1);

    args = offline_args({"samples/passing.eml"});
    args.push_back("--fail-on=quarantine");
    CHECK(run_relaygate(args).status == 0);
}

TEST_CASE("usage errors exit 2 with one line and a hint", "[e2e]")
{
    Run unknown = run_relaygate({"check", "--bogus"});
    CHECK(unknown.status == 2);
    CHECK(unknown.err.find("--bogus") != std::string::npos);

    Run bad_zone_mode = run_relaygate({"check", "--dns", "offline", "x.eml"});
    CHECK(bad_zone_mode.status == 2);

    Run bad_ip = run_relaygate({"check", "--client-ip", "999.1.1.1", "--dns-zone",
                                source_path("samples/dns.zone"), "-"});
    CHECK(bad_ip.status == 2);
    CHECK(bad_ip.err.find("999.1.1.1") != std::string::npos);
}

TEST_CASE("envelope options override what the Received chain says", "[e2e]")
{
    auto args = offline_args({"samples/passing.eml"});
    for (const char* arg : {"--client-ip", "198.51.100.66", "--helo", "mailer.attacker.example",
                            "--mail-from", "orders@shop.example", "--rcpt", "pat@corp.example"})
        args.push_back(arg);
    Run run = run_relaygate(args);
    auto got = verdicts(run);
    REQUIRE(got.size() == 1);
    CHECK(got[0]["envelope"]["derived_from"] == "options");
    CHECK(got[0]["envelope"]["client_ip"] == "198.51.100.66");
    CHECK(got[0]["auth"]["spf"]["result"] == "fail");
    // DKIM still aligns, so DMARC passes although SPF fails.
    CHECK(got[0]["auth"]["dmarc"]["result"] == "pass");
}

TEST_CASE("dns lookup answers from the zone world and from a live server", "[e2e]")
{
    Run offline = run_relaygate({"dns", "lookup", "--dns-zone", source_path("samples/dns.zone"),
                                 "shop.example", "TXT"});
    CHECK(offline.status == 0);
    CHECK(offline.out.find("v=spf1 ip4:192.0.2.0/24 -all") != std::string::npos);

    Run missing = run_relaygate({"dns", "lookup", "--dns-zone",
                                 source_path("samples/dns.zone"), "nothing.example", "A"});
    CHECK(missing.out.find("nxdomain") != std::string::npos);

    Run live = run_relaygate({"dns", "lookup", "--resolver", live_dns_server(),
                              "mail.shop.example", "A"});
    CHECK(live.status == 0);
    CHECK(live.out.find("192.0.2.10") != std::string::npos);
}
