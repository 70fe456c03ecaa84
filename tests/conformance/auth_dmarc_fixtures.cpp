// Fixture-driven DMARC conformance: every case under testdata/dmarc/rspamd/** and
// testdata/auth-realworld/blaze/* with an expected.json (SPF, DKIM and DMARC together).
#include <catch2/catch.hpp>

#include "conformance/auth_dkim_fixtures.hpp"

TEST_CASE("every DMARC fixture case gives the expected result and disposition",
          "[auth_dmarc][conformance]") {
    fixtures::fs::path data = RELAYGATE_TESTDATA;
    auto known = fixtures::known_failures(fixtures::fs::path(RELAYGATE_SOURCE_DIR) /
                                          "tests/data/dmarc/known_failures.txt");
    int passed = 0;
    for (const auto& root : {data / "dmarc" / "rspamd", data / "auth-realworld" / "blaze"}) {
        for (const auto& folder : fixtures::case_folders(root)) {
            passed += fixtures::check_case(folder, known) ? 1 : 0;
        }
    }
    WARN("DMARC fixtures: " << passed << " cases match, " << known.size()
                            << " listed as known failures");
}
