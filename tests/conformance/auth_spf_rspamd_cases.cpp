// Runs the rspamd SPF cases (testdata/spf/rspamd/<case>/: envelope.json, dns.zone,
// expected.json) through SpfChecker over the dns module's zone resolver, DNS FAULT comments
// included, and compares the SPF result with expected.json.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
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
// (rcpt_to lists are skipped), and their strings carry no escapes. (std::regex is avoided:
// g++ 12 warns inside it under the sanitizers.)
std::map<std::string, std::string> string_members(const std::string& json)
{
    std::map<std::string, std::string> members;
    std::size_t position = 0;
    while (true) {
        std::size_t key_start = json.find('"', position);
        std::size_t key_end = json.find('"', key_start + 1);
        if (key_start == std::string::npos || key_end == std::string::npos) {
            break;
        }
        std::string key = json.substr(key_start + 1, key_end - key_start - 1);
        std::size_t value_start = json.find_first_not_of(" \t\r\n:", key_end + 1);
        if (value_start == std::string::npos) {
            break;
        }
        if (json[value_start] != '"') {
            position = value_start;
            continue;
        }
        std::size_t value_end = json.find('"', value_start + 1);
        if (value_end == std::string::npos) {
            break;
        }
        members[key] = json.substr(value_start + 1, value_end - value_start - 1);
        position = value_end + 1;
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
