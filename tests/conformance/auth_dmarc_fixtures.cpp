// Fixture-driven DMARC conformance: every case under testdata/dmarc/rspamd/** and
// testdata/auth-realworld/blaze/* with an expected.json (SPF, DKIM and DMARC together). Their
// expectations follow RFC 7489, so they are run in both discovery modes: RFC 7489 with the PSL,
// where every case must match, and the default RFC 9989 tree walk, where the cases whose answer
// RFC 9989 changes are listed in tests/data/dmarc/rfc9989_differences.txt with the reason.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "conformance/auth_dkim_fixtures.hpp"

namespace {

namespace fs = fixtures::fs;
namespace auth = relaygate::auth;

// SPF, DKIM and DMARC of one case folder, with DMARC in the given mode.
fixtures::CaseRun run_case(const fs::path& folder, const auth::DmarcOptions& options) {
    relaygate::Message message =
        relaygate::Message::parse(fixtures::read_file(folder / "message.eml"));
    auto resolver = relaygate::dns::make_zone_resolver({(folder / "dns.zone").string()});
    relaygate::Envelope envelope =
        fixtures::read_envelope(fixtures::read_json(folder / "envelope.json"));

    fixtures::CaseRun run;
    auth::SpfChecker spf(*resolver);
    run.spf = spf.check(envelope);
    auth::DkimVerifier dkim(*resolver);
    run.dkim = dkim.verify(message);
    auth::DmarcEvaluator dmarc(*resolver, options);
    run.dmarc = dmarc.evaluate(message, run.spf, run.dkim, message.message_id());
    return run;
}

// Runs every case in one mode: an unlisted case must match, a listed one must still differ
// (else the list is stale). Returns how many matched.
int check_cases(const auth::DmarcOptions& options, const std::string& listed_file) {
    fs::path data = RELAYGATE_TESTDATA;
    auto listed = fixtures::known_failures(fs::path(RELAYGATE_SOURCE_DIR) / listed_file);
    int matched = 0;
    for (const auto& root : {data / "dmarc" / "rspamd", data / "auth-realworld" / "blaze"}) {
        for (const auto& folder : fixtures::case_folders(root)) {
            std::string name = fixtures::case_name(folder);
            fixtures::CaseRun run = run_case(folder, options);
            std::vector<std::string> problems =
                fixtures::compare(run, fixtures::read_json(folder / "expected.json"),
                                  fixtures::read_json(folder / "meta.json"));
            if (std::getenv("RELAYGATE_FIXTURE_VERBOSE") != nullptr) {
                WARN(name << ": dmarc=" << run.dmarc.result << "/" << run.dmarc.disposition
                          << " (" << run.dmarc.reason << ")");
            }
            std::string detail;
            for (const std::string& problem : problems) {
                detail += "\n  " + problem;
            }
            INFO(name << (options.tree_walk ? " (RFC 9989)" : " (RFC 7489)") << detail);
            if (listed.count(name) > 0) {
                CHECK_FALSE(problems.empty());
            } else {
                CHECK(problems.empty());
            }
            matched += problems.empty() ? 1 : 0;
        }
    }
    return matched;
}

}  // namespace

TEST_CASE("every DMARC fixture case gives the expected result and disposition under RFC 7489",
          "[auth_dmarc][conformance]") {
    auth::DmarcOptions rfc7489;
    rfc7489.tree_walk = false;
    int matched = check_cases(rfc7489, "tests/data/dmarc/known_failures.txt");
    WARN("DMARC fixtures, RFC 7489 (PSL): " << matched << " cases match");
}

TEST_CASE("DMARC fixture cases match under the RFC 9989 tree walk but for listed RFC changes",
          "[auth_dmarc][conformance]") {
    int matched = check_cases({}, "tests/data/dmarc/rfc9989_differences.txt");
    WARN("DMARC fixtures, RFC 9989 (tree walk, the default): " << matched << " cases match");
}
