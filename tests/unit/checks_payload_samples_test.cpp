// Every message in samples/payload gives exactly the payload findings samples/payload/
// expected.json names, under samples/payload/policy.jsonc and its zone file.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "checks/payload_checks.hpp"

using namespace relaygate;

namespace {

const std::filesystem::path kSamples = std::filesystem::path(RELAYGATE_SOURCE_DIR) /
                                       "samples/payload";

std::string read_file(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

}  // namespace

TEST_CASE("each payload sample gives the findings it was made to show", "[checks]")
{
    Policy policy = load_policy((kSamples / "policy.jsonc").string());
    auto resolver = dns::make_zone_resolver({(kSamples / "uribl.zone").string()});
    auto expected = nlohmann::json::parse(read_file(kSamples / "expected.json"));

    std::size_t samples = 0;
    for (const auto& entry : std::filesystem::directory_iterator(kSamples)) {
        if (entry.path().extension() != ".eml") continue;
        ++samples;
        std::string name = entry.path().filename().string();
        DYNAMIC_SECTION(name)
        {
            REQUIRE(expected.contains(name));
            Message message = Message::parse(read_file(entry.path()));
            std::vector<Finding> findings;
            bool temporary = false;
            checks::check_payload(checks::walk_payload(message, policy), policy, *resolver,
                                  findings, temporary);

            std::set<std::string> got;
            for (const auto& finding : findings) got.insert(finding.id);
            std::set<std::string> want = expected[name].get<std::set<std::string>>();
            CHECK(got == want);
            CHECK_FALSE(temporary);
        }
    }
    CHECK(samples == expected.size());
}

TEST_CASE("every shared MIME fixture goes through the payload checks without a crash",
          "[checks]")
{
    Policy policy = load_policy((kSamples / "policy.jsonc").string());
    auto resolver = dns::make_zone_resolver({(kSamples / "uribl.zone").string()});
    const auto root = std::filesystem::path(RELAYGATE_TESTDATA) / "mime";
    std::size_t files = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
        if (!entry.is_regular_file()) continue;
        Message message = Message::parse(read_file(entry.path()));
        std::vector<Finding> findings;
        bool temporary = false;
        checks::check_payload(checks::walk_payload(message, policy), policy, *resolver, findings,
                              temporary);
        for (const auto& finding : findings) CHECK(finding.layer == "payload");
        ++files;
    }
    CHECK(files > 100);
}
