// The attack samples in samples/attacks/ show what they say: each gives its finding under
// samples/policy.jsonc and samples/attacks/dns.zone, and the clean ones give none that count.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "checks/connection_checks.hpp"
#include "checks/header_checks.hpp"
#include "relaygate/checks.hpp"

using namespace relaygate;

namespace {

// 2026-12-04 12:00:00 UTC, shortly after the samples were written.
constexpr std::int64_t samples_now = 1796385600;

std::string sample_path(const std::string& name)
{
    return std::string(RELAYGATE_SOURCE_DIR) + "/samples/" + name;
}

std::string read_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// The connection and header findings of one sample, the envelope derived from its Received
// fields as `relaygate check` derives it.
std::vector<Finding> sample_findings(const std::string& name)
{
    Policy policy = load_policy(sample_path("policy.jsonc"));
    auto resolver = dns::make_zone_resolver({sample_path("attacks/dns.zone")});
    Message message = Message::parse(read_file(sample_path("attacks/" + name)));
    Envelope envelope = checks::derive_envelope(message, {}, policy);

    std::vector<Finding> findings;
    checks::connection::run_connection_checks(policy, envelope, *resolver, findings);
    checks::header::run_header_checks(policy, message, envelope, samples_now, findings);
    return findings;
}

std::vector<std::string> ids_of(const std::vector<Finding>& findings)
{
    std::vector<std::string> ids;
    for (const auto& finding : findings)
        ids.push_back(finding.id);
    return ids;
}

double total(const std::vector<Finding>& findings)
{
    double sum = 0;
    for (const auto& finding : findings)
        sum += finding.score;
    return sum;
}

}  // namespace

TEST_CASE("each attack sample gives the finding it shows", "[checks]")
{
    struct Case {
        const char* sample;
        std::vector<std::string> expected;
    };
    const Case cases[] = {
        {"display-name-impersonation.eml", {"display_name_impersonation"}},
        {"lookalike-ascii.eml", {"lookalike_domain"}},
        {"lookalike-idn.eml", {"lookalike_idn"}},
        {"reply-to-diversion.eml", {"display_name_impersonation", "reply_to_diversion"}},
        {"blocklisted-sender.eml", {"dnsbl_listed", "fcrdns_mismatch"}},
        {"relay-attempt.eml", {"relay_denied", "helo_not_fqdn", "rdns_missing"}},
        {"helo-forgery.eml", {"helo_claims_our_domain", "rdns_missing"}},
        {"forged-headers.eml",
         {"from_duplicate", "date_duplicate", "message_id_missing", "received_date_future",
          "received_out_of_order"}},
        {"hostile-header.eml",
         {"header_line_too_long", "header_invalid_utf8", "idn_invalid", "reply_to_mismatch"}},
    };
    for (const auto& c : cases) {
        DYNAMIC_SECTION(c.sample)
        {
            std::vector<std::string> ids = ids_of(sample_findings(c.sample));
            std::sort(ids.begin(), ids.end());
            std::vector<std::string> expected = c.expected;
            std::sort(expected.begin(), expected.end());
            CHECK(ids == expected);
        }
    }
}

TEST_CASE("the relay sample is refused with the recipient of its Received field",
          "[checks]")
{
    auto findings = sample_findings("relay-attempt.eml");
    REQUIRE(!findings.empty());
    CHECK(findings[0].id == "relay_denied");
    CHECK(findings[0].hard_action == Action::reject);
    CHECK(findings[0].detail == "recipient \"victim@elsewhere.example\" is not in our domains "
                                "and client 198.51.100.90 is not in relay.allowed_clients");
}

TEST_CASE("the clean samples give no findings that count", "[checks]")
{
    for (const char* sample : {"clean-external.eml", "clean-internal.eml"}) {
        DYNAMIC_SECTION(sample)
        {
            auto findings = sample_findings(sample);
            CHECK(ids_of(findings) == std::vector<std::string>{});
            CHECK(total(findings) == 0);
        }
    }
}

TEST_CASE("the blocklist sample scores the policy's weight for its return code", "[checks]")
{
    auto findings = sample_findings("blocklisted-sender.eml");
    auto listed = std::find_if(findings.begin(), findings.end(),
                               [](const Finding& f) { return f.id == "dnsbl_listed"; });
    REQUIRE(listed != findings.end());
    CHECK(listed->score == 8);
    CHECK(listed->detail ==
          "198.51.100.77 is listed in bl.example.net: 127.0.0.2 (direct spam source)");
}
