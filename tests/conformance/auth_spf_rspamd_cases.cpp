// Runs the rspamd SPF cases (testdata/spf/rspamd/<case>/: envelope.json, dns.zone,
// expected.json) through SpfChecker over the dns module's zone resolver, DNS FAULT comments
// included, and compares the SPF result with expected.json.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <sstream>
#include <string>

#include "relaygate/auth.hpp"
#include "relaygate/dns.hpp"

namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path)
{
    std::ifstream file(path, std::ios::binary);
    std::ostringstream text;
    text << file.rdbuf();
    return text.str();
}

// The string members of a flat JSON object; the case files hold nothing else that matters here
// (rcpt_to lists are skipped), and their strings carry no escapes.
std::map<std::string, std::string> string_members(const std::string& json)
{
    static const std::regex member(R"re("([A-Za-z_]+)"\s*:\s*"([^"\\]*)")re");
    std::map<std::string, std::string> members;
    for (auto it = std::sregex_iterator(json.begin(), json.end(), member);
         it != std::sregex_iterator(); ++it) {
        members[(*it)[1]] = (*it)[2];
    }
    return members;
}

}  // namespace

TEST_CASE("every rspamd SPF case gets the expected result from its zone file", "[auth_spf]")
{
    fs::path root = fs::path(RELAYGATE_TESTDATA) / "spf" / "rspamd";
    REQUIRE(fs::is_directory(root));
    int total = 0;
    int passed = 0;

    for (const auto& entry : fs::directory_iterator(root)) {
        fs::path folder = entry.path();
        if (!fs::exists(folder / "expected.json") || !fs::exists(folder / "envelope.json")) {
            continue;
        }
        auto envelope_fields = string_members(read_file(folder / "envelope.json"));
        std::string want = string_members(read_file(folder / "expected.json"))["spf"];
        if (want.empty()) {
            continue;
        }

        auto resolver = relaygate::dns::make_zone_resolver({(folder / "dns.zone").string()});
        relaygate::auth::SpfChecker checker(*resolver);
        relaygate::Envelope envelope;
        envelope.client_ip = envelope_fields["client_ip"];
        envelope.helo = envelope_fields["helo"];
        envelope.mail_from = envelope_fields["mail_from"];
        envelope.has_mail_from = envelope_fields.count("mail_from") != 0;
        relaygate::auth::SpfOutcome got = checker.check(envelope);

        ++total;
        passed += got.result == want ? 1 : 0;
        INFO(folder.filename().string() << ": got " << got.result << " (" << got.reason
                                        << "), want " << want);
        CHECK(got.result == want);
    }
    std::cout << "SPF rspamd cases: " << passed << "/" << total << " passed\n";
    CHECK(total == 28);
}
