// Fixture-driven DKIM conformance: every case under testdata/dkim/** and
// testdata/auth-realworld/blaze/* with an expected.json.
#include <catch2/catch.hpp>

#include "conformance/auth_dkim_fixtures.hpp"

TEST_CASE("every DKIM fixture case gives the expected result for each signature",
          "[auth_dkim][conformance]") {
    fixtures::fs::path data = RELAYGATE_TESTDATA;
    auto known = fixtures::known_failures(fixtures::fs::path(RELAYGATE_SOURCE_DIR) /
                                          "tests/data/dkim/known_failures.txt");
    int passed = 0;
    for (const auto& root : {data / "dkim", data / "auth-realworld" / "blaze"}) {
        for (const auto& folder : fixtures::case_folders(root)) {
            passed += fixtures::check_case(folder, known) ? 1 : 0;
        }
    }
    WARN("DKIM fixtures: " << passed << " cases match, " << known.size()
                           << " listed as known failures");
}
