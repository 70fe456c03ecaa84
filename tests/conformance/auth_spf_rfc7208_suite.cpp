// Runs every test of the openspf RFC 7208 suite (testdata/spf/rfc7208-tests.yml) through the
// product's SPF path: SpfChecker over a dns::Resolver built from each scenario's zone data,
// timeouts injected. Tests that fail are listed, with the reason, in tests/spf-suite-failures.txt;
// everything else must pass, and everything listed must still fail, so the list stays honest.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "relaygate/auth.hpp"
#include "unit/auth_spf_test_resolver.hpp"

namespace {

using relaygate::dns::RecordType;

struct SuiteTest {
    std::string name;
    std::string host;
    std::string helo;
    std::string mail_from;
    std::vector<std::string> results;
    std::string explanation;
    bool has_explanation = false;
};

struct Scenario {
    std::string description;
    std::shared_ptr<relaygate::test::MapResolver> resolver =
        std::make_shared<relaygate::test::MapResolver>();
    std::vector<SuiteTest> tests;
};

// Undoes the converter's field encoding: a leading '=' then percent-encoded bytes.
std::string decode_field(const std::string& field)
{
    std::string out;
    for (std::size_t i = 1; i < field.size(); ++i) {
        if (field[i] == '%' && i + 2 < field.size()) {
            out.push_back(static_cast<char>(std::stoi(field.substr(i + 1, 2), nullptr, 16)));
            i += 2;
        } else {
            out.push_back(field[i]);
        }
    }
    return out;
}

std::vector<std::string> split(const std::string& text, char separator)
{
    std::vector<std::string> parts;
    std::string part;
    std::istringstream stream(text);
    while (std::getline(stream, part, separator)) {
        parts.push_back(part);
    }
    return parts;
}

RecordType record_type(const std::string& name)
{
    static const std::map<std::string, RecordType> types = {
        {"A", RecordType::a},     {"AAAA", RecordType::aaaa}, {"MX", RecordType::mx},
        {"PTR", RecordType::ptr}, {"TXT", RecordType::txt},   {"SPF", RecordType::spf},
        {"CNAME", RecordType::cname}};
    return types.at(name);
}

// Converts the YAML suite with the Python helper (Debian's python3-yaml) and reads its lines.
std::vector<Scenario> load_suite()
{
    std::string command = std::string("/usr/bin/python3 ") + RELAYGATE_SOURCE_DIR +
                          "/tests/data/spf/suite_to_lines.py " + RELAYGATE_TESTDATA +
                          "/spf/rfc7208-tests.yml";
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
    REQUIRE(pipe != nullptr);
    std::string text;
    char buffer[4096];
    std::size_t got = 0;
    while ((got = std::fread(buffer, 1, sizeof buffer, pipe.get())) > 0) {
        text.append(buffer, got);
    }

    std::vector<Scenario> scenarios;
    for (const std::string& line : split(text, '\n')) {
        std::vector<std::string> fields;
        for (const std::string& raw : split(line, ' ')) {
            fields.push_back(raw.empty() || raw[0] != '=' ? raw : decode_field(raw));
        }
        if (fields.empty()) {
            continue;
        }
        if (fields[0] == "scenario") {
            scenarios.emplace_back().description = fields.at(1);
        } else if (fields[0] == "record") {
            scenarios.back().resolver->add(fields.at(1), record_type(fields.at(2)), fields.at(3));
        } else if (fields[0] == "timeout") {
            scenarios.back().resolver->add_timeout(fields.at(1));
        } else if (fields[0] == "test") {
            scenarios.back().tests.push_back({fields.at(1), fields.at(2), fields.at(3),
                                              fields.at(4), split(fields.at(5), ','),
                                              fields.at(6), fields.at(7) == "1"});
        }
    }
    return scenarios;
}

// tests/spf-suite-failures.txt: "<test name> <reason>" per line, '#' comments.
std::map<std::string, std::string> load_known_failures()
{
    std::ifstream file(std::string(RELAYGATE_SOURCE_DIR) + "/tests/spf-suite-failures.txt");
    std::map<std::string, std::string> known;
    std::string line;
    while (std::getline(file, line)) {
        if (line.empty() || line[0] == '#') {
            continue;
        }
        auto space = line.find(' ');
        known[line.substr(0, space)] = space == std::string::npos ? "" : line.substr(space + 1);
    }
    return known;
}

// Why a test failed, or empty when it passed. "DEFAULT" in the suite means the domain
// published no explanation.
std::string failure_of(const SuiteTest& test, const relaygate::auth::SpfOutcome& outcome)
{
    bool accepted = false;
    for (const std::string& result : test.results) {
        accepted = accepted || result == outcome.result;
    }
    std::string want_results;
    for (const std::string& result : test.results) {
        want_results += (want_results.empty() ? "" : "|") + result;
    }
    if (!accepted) {
        return "got " + outcome.result + " (" + outcome.reason + "), want " + want_results;
    }
    if (test.has_explanation && outcome.result == "fail") {
        std::string want = test.explanation == "DEFAULT" ? "" : test.explanation;
        if (outcome.explanation != want) {
            return "got explanation \"" + outcome.explanation + "\", want \"" + want + "\"";
        }
    }
    return "";
}

}  // namespace

TEST_CASE("every RFC 7208 suite test passes unless listed as a known failure", "[auth_spf]")
{
    std::vector<Scenario> scenarios = load_suite();
    std::map<std::string, std::string> known = load_known_failures();
    int total = 0;
    int passed = 0;
    std::set<std::string> seen;

    for (Scenario& scenario : scenarios) {
        relaygate::auth::SpfChecker checker(*scenario.resolver);
        for (const SuiteTest& test : scenario.tests) {
            relaygate::Envelope envelope;
            envelope.client_ip = test.host;
            envelope.helo = test.helo;
            envelope.mail_from = test.mail_from;
            envelope.has_mail_from = true;
            std::string failure = failure_of(test, checker.check(envelope));
            ++total;
            seen.insert(test.name);
            passed += failure.empty() ? 1 : 0;

            bool listed = known.count(test.name) != 0;
            INFO(scenario.description << " / " << test.name << ": " << failure);
            if (listed) {
                CHECK_FALSE(failure.empty());
            } else {
                CHECK(failure.empty());
            }
        }
    }
    std::cout << "SPF RFC 7208 suite: " << passed << "/" << total << " passed\n";

    CHECK(total == 203);
    for (const auto& [name, reason] : known) {
        INFO("tests/spf-suite-failures.txt lists " << name << ", which is not in the suite");
        CHECK(seen.count(name) == 1);
    }
}
