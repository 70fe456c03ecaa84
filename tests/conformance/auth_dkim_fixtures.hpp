// Runs one shared-testdata case folder (message.eml, dns.zone, envelope.json, expected.json,
// meta.json) through SPF, DKIM and DMARC as `relaygate check` would, and compares the result
// words with expected.json, honouring meta.json's legacy_reasons,
// dkim_acceptable_alternatives and must_not. Shared by test_auth_dkim and test_auth_dmarc.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "relaygate/auth.hpp"
#include "relaygate/dns.hpp"
#include "relaygate/message.hpp"

namespace fixtures {

namespace fs = std::filesystem;
using nlohmann::json;

inline std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline json read_json(const fs::path& path) {
    if (!fs::exists(path)) {
        return json::object();
    }
    return json::parse(read_file(path));
}

// Every case folder with an expected.json under root (recursively), sorted.
inline std::vector<fs::path> case_folders(const fs::path& root) {
    std::vector<fs::path> folders;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
        if (entry.is_regular_file() && entry.path().filename() == "expected.json" &&
            fs::exists(entry.path().parent_path() / "message.eml")) {
            folders.push_back(entry.path().parent_path());
        }
    }
    std::sort(folders.begin(), folders.end());
    return folders;
}

// "dkim/rspamd/foo" from a folder under the testdata root.
inline std::string case_name(const fs::path& folder) {
    return fs::relative(folder, RELAYGATE_TESTDATA).generic_string();
}

// Cases listed as known failures: "<case name> <reason>" lines, "#" comments.
inline std::map<std::string, std::string> known_failures(const fs::path& file) {
    std::map<std::string, std::string> cases;
    std::istringstream lines(read_file(file));
    std::string line;
    while (std::getline(lines, line)) {
        if (line.empty() || line[0] == '#') {
            continue;
        }
        std::size_t space = line.find(' ');
        cases[line.substr(0, space)] = space == std::string::npos ? "" : line.substr(space + 1);
    }
    return cases;
}

inline relaygate::Envelope read_envelope(const json& data) {
    relaygate::Envelope envelope;
    envelope.client_ip = data.value("client_ip", "");
    envelope.helo = data.value("helo", "");
    if (data.contains("mail_from")) {
        envelope.mail_from = data["mail_from"].get<std::string>();
        envelope.has_mail_from = true;
    }
    envelope.derived_from = data.empty() ? "none" : "options";
    return envelope;
}

struct CaseRun {
    relaygate::auth::SpfOutcome spf;
    std::vector<relaygate::auth::DkimSignatureOutcome> dkim;
    relaygate::auth::DmarcOutcome dmarc;
};

inline CaseRun run_case(const fs::path& folder) {
    relaygate::Message message = relaygate::Message::parse(read_file(folder / "message.eml"));
    auto resolver = relaygate::dns::make_zone_resolver({(folder / "dns.zone").string()});
    relaygate::Envelope envelope = read_envelope(read_json(folder / "envelope.json"));

    CaseRun run;
    relaygate::auth::SpfChecker spf(*resolver);
    run.spf = spf.check(envelope);
    relaygate::auth::DkimVerifier dkim(*resolver);
    run.dkim = dkim.verify(message);
    relaygate::auth::DmarcEvaluator dmarc(*resolver);
    run.dmarc = dmarc.evaluate(message, run.spf, run.dkim, message.message_id());
    return run;
}

// The words a result may take for this case besides the expected one.
inline std::set<std::string> dkim_alternatives(const json& meta) {
    std::set<std::string> words;
    for (const auto& word : meta.value("dkim_acceptable_alternatives", json::array())) {
        words.insert(word.get<std::string>());
    }
    // Pre-RFC 8301 cases: our RFC 8301 answer replaces the origin's lenient one.
    if (meta.contains("legacy_reasons")) {
        words.insert({"policy", "permerror", "fail"});
    }
    return words;
}

// Compares a run with expected.json; returns the mismatches, one line each.
inline std::vector<std::string> compare(const CaseRun& run, const json& expected,
                                        const json& meta) {
    std::vector<std::string> problems;
    if (expected.contains("dkim")) {
        std::vector<std::string> got;
        for (const auto& outcome : run.dkim) {
            got.push_back(outcome.result + (outcome.reason.empty() ? "" : " (" +
                                                                            outcome.reason + ")"));
        }
        std::vector<std::string> want = expected["dkim"].get<std::vector<std::string>>();
        std::set<std::string> alternatives = dkim_alternatives(meta);
        bool ok = want == std::vector<std::string>{"none"} ? run.dkim.empty()
                                                           : run.dkim.size() == want.size();
        for (std::size_t i = 0; ok && i < run.dkim.size(); ++i) {
            const std::string& word = run.dkim[i].result;
            ok = word == want[i] || alternatives.count(word) > 0;
        }
        if (!ok) {
            problems.push_back("dkim: got " + json(got).dump() + ", want " +
                               expected["dkim"].dump());
        }
    }
    if (expected.contains("spf") && run.spf.result != expected["spf"].get<std::string>()) {
        problems.push_back("spf: got " + run.spf.result + " (" + run.spf.reason + "), want " +
                           expected["spf"].get<std::string>());
    }
    if (expected.contains("dmarc") && run.dmarc.result != expected["dmarc"].get<std::string>()) {
        problems.push_back("dmarc: got " + run.dmarc.result + " (" + run.dmarc.reason +
                           "), want " + expected["dmarc"].get<std::string>());
    }
    if (expected.contains("dmarc_policy") &&
        run.dmarc.disposition != expected["dmarc_policy"].get<std::string>()) {
        problems.push_back("dmarc disposition: got " + run.dmarc.disposition + ", want " +
                           expected["dmarc_policy"].get<std::string>());
    }
    const json must_not = meta.value("must_not", json::object());
    if (must_not.contains("spf") && run.spf.result == must_not["spf"].get<std::string>()) {
        problems.push_back("spf: got " + run.spf.result + ", which the origin forbids");
    }
    if (must_not.contains("dmarc") && run.dmarc.result == must_not["dmarc"].get<std::string>()) {
        problems.push_back("dmarc: got " + run.dmarc.result + ", which the origin forbids");
    }
    return problems;
}

// Runs a case and checks it: an unlisted case must match; a listed known failure must
// still fail (else the list is stale). Returns whether the case matched.
inline bool check_case(const fs::path& folder, const std::map<std::string, std::string>& known) {
    std::string name = case_name(folder);
    CaseRun run = run_case(folder);
    std::vector<std::string> problems =
        compare(run, read_json(folder / "expected.json"), read_json(folder / "meta.json"));
    // RELAYGATE_FIXTURE_VERBOSE=1 prints every case's results, passing or not.
    if (std::getenv("RELAYGATE_FIXTURE_VERBOSE") != nullptr) {
        std::string line = name + ": spf=" + run.spf.result + " dmarc=" + run.dmarc.result +
                           "/" + run.dmarc.disposition + " (" + run.dmarc.reason + ") dkim=";
        for (const auto& outcome : run.dkim) {
            line += "[" + outcome.result + " " + outcome.algorithm + " " +
                    std::to_string(outcome.key_bits) + " " + outcome.reason + "]";
        }
        WARN(line);
    }
    std::string detail;
    for (const std::string& problem : problems) {
        detail += "\n  " + problem;
    }
    INFO(name << detail);
    if (known.count(name) > 0) {
        CHECK_FALSE(problems.empty());
    } else {
        CHECK(problems.empty());
    }
    return problems.empty();
}

}  // namespace fixtures
