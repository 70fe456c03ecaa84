// The connection layer's checks over hand-built envelopes and a map-backed resolver.
#include <catch2/catch.hpp>

#include <functional>
#include <map>
#include <utility>

#include "checks/connection_checks.hpp"

using namespace relaygate;
using namespace relaygate::checks::connection;

namespace {

// Answers from a table; a name and type not in it is NXDOMAIN. Records every query.
class MapResolver : public dns::Resolver {
public:
    void add(const std::string& name, dns::RecordType type, std::vector<std::string> records)
    {
        dns::Answer answer;
        answer.outcome = dns::Outcome::found;
        answer.records = std::move(records);
        answers_[{name, type}] = answer;
    }
    void fail(const std::string& name, dns::RecordType type)
    {
        dns::Answer answer;
        answer.outcome = dns::Outcome::temperror;
        answer.detail = "timeout after 2000 ms";
        answers_[{name, type}] = answer;
    }
    dns::Answer lookup(std::string_view name, dns::RecordType type) override
    {
        queries.emplace_back(name);
        auto it = answers_.find({std::string(name), type});
        return it == answers_.end() ? dns::Answer{} : it->second;
    }
    std::vector<std::string> queries;

private:
    std::map<std::pair<std::string, dns::RecordType>, dns::Answer> answers_;
};

Policy org_policy()
{
    Policy policy = default_policy();
    policy.organization.domains = {"example.com"};
    policy.relay.allowed_clients = {"10.0.0.0/8", "2001:db8:1::/48"};
    return policy;
}

Envelope envelope_from(std::string ip, std::string helo = "mail.sender.net",
                       std::vector<std::string> rcpt = {"bob@example.com"})
{
    Envelope envelope;
    envelope.client_ip = std::move(ip);
    envelope.helo = std::move(helo);
    envelope.rcpt_to = std::move(rcpt);
    envelope.derived_from = "options";
    return envelope;
}

std::vector<std::string> ids(const std::vector<Finding>& findings)
{
    std::vector<std::string> out;
    for (const auto& finding : findings)
        out.push_back(finding.id);
    return out;
}

const Finding* find(const std::vector<Finding>& findings, const std::string& id)
{
    for (const auto& finding : findings) {
        if (finding.id == id)
            return &finding;
    }
    return nullptr;
}

}  // namespace

TEST_CASE("mail for another domain from a client that may not relay is refused",
          "[checks]")
{
    std::vector<Finding> findings;
    check_relay(org_policy(),
                envelope_from("198.51.100.9", "x.sender.net",
                              {"bob@example.com", "<Eve@Elsewhere.ORG>"}),
                findings);
    REQUIRE(ids(findings) == std::vector<std::string>{"relay_denied"});
    CHECK(findings[0].hard_action == Action::reject);
    CHECK(findings[0].layer == "connection");
    CHECK(findings[0].detail ==
          "recipient \"<Eve@Elsewhere.ORG>\" is not in our domains and client 198.51.100.9 "
          "is not in relay.allowed_clients");
}

TEST_CASE("relay authorization takes our domains and subdomains from anyone and lets "
          "allowed clients relay anywhere",
          "[checks]")
{
    struct Case {
        const char* what;
        std::string ip;
        std::vector<std::string> rcpt;
        bool denied;
    };
    const Case cases[] = {
        {"our domain from outside", "198.51.100.9", {"bob@EXAMPLE.com"}, false},
        {"our subdomain from outside", "198.51.100.9", {"bob@sales.example.com"}, false},
        {"suffix that is not a subdomain", "198.51.100.9", {"bob@badexample.com"}, true},
        {"other domain from allowed IPv4 client", "10.1.2.3", {"eve@elsewhere.org"}, false},
        {"other domain from allowed IPv6 client", "2001:db8:1::25", {"eve@elsewhere.org"},
         false},
        {"other domain from IPv6 outside the allowed range", "2001:db8:2::25",
         {"eve@elsewhere.org"}, true},
        {"other domain from an unknown client", "", {"eve@elsewhere.org"}, true},
        {"no recipients known", "198.51.100.9", {}, false},
        {"bare postmaster", "198.51.100.9", {"postmaster"}, false},
    };
    for (const auto& c : cases) {
        DYNAMIC_SECTION(c.what)
        {
            std::vector<Finding> findings;
            check_relay(org_policy(), envelope_from(c.ip, "h.sender.net", c.rcpt), findings);
            CHECK(findings.empty() == !c.denied);
        }
    }
}

TEST_CASE("without organization domains the relay check is off", "[checks]")
{
    std::vector<Finding> findings;
    check_relay(default_policy(), envelope_from("198.51.100.9", "h", {"eve@elsewhere.org"}),
                findings);
    CHECK(findings.empty());
}

TEST_CASE("the allow list wins over the block list and skips the DNS blocklists",
          "[checks]")
{
    Policy policy = org_policy();
    policy.connection.allow = {"203.0.113.7"};
    policy.connection.block = {"203.0.113.0/24", "2001:db8:bad::/48"};
    policy.connection.dnsbl = {Blocklist{"bl.example.net", 5, {}}};
    policy.connection.fcrdns = false;
    policy.connection.helo_checks = false;
    MapResolver resolver;
    resolver.add("7.113.0.203.bl.example.net", dns::RecordType::a, {"127.0.0.2"});
    resolver.add("8.113.0.203.bl.example.net", dns::RecordType::a, {"127.0.0.2"});

    std::vector<Finding> allowed;
    run_connection_checks(policy, envelope_from("203.0.113.7"), resolver, allowed);
    CHECK(ids(allowed) == std::vector<std::string>{"ip_allowlisted"});
    CHECK(resolver.queries.empty());

    std::vector<Finding> blocked;
    run_connection_checks(policy, envelope_from("203.0.113.8"), resolver, blocked);
    CHECK(ids(blocked) == std::vector<std::string>{"ip_blocklisted", "dnsbl_listed"});
    CHECK(blocked[0].hard_action == Action::reject);

    std::vector<Finding> blocked_v6;
    check_ip_lists(policy, envelope_from("2001:db8:bad::1"), blocked_v6);
    CHECK(ids(blocked_v6) == std::vector<std::string>{"ip_blocklisted"});
}

TEST_CASE("blocklist queries reverse IPv4 octets and IPv6 nibbles under the zone",
          "[checks]")
{
    CHECK(blocklist_query("192.0.2.99", "bl.example.net") ==
          std::optional<std::string>("99.2.0.192.bl.example.net"));
    CHECK(blocklist_query("2001:db8::1", "bl.example.net") ==
          std::optional<std::string>("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0."
                                     "1.0.0.2.bl.example.net"));
    CHECK(!blocklist_query("not-an-ip", "bl.example.net"));
}

TEST_CASE("blocklist return codes are read through the zone's code map", "[checks]")
{
    Policy policy = org_policy();
    Blocklist list{"bl.example.net", 4, {}};
    list.codes["127.0.0.2"] = ListCode{"spam source", 8};
    list.codes["127.0.0.4"] = ListCode{"exploited host", 6};
    policy.connection.dnsbl = {list};

    struct Case {
        const char* what;
        std::vector<std::string> answer;
        std::string id;  // "" for no finding
        double score;
    };
    const Case cases[] = {
        {"a mapped code weighs its own weight", {"127.0.0.4"}, "dnsbl_listed", 6},
        {"several codes weigh the gravest", {"127.0.0.4", "127.0.0.2"}, "dnsbl_listed", 8},
        {"an unmapped 127/8 code weighs the zone weight", {"127.0.0.9"}, "dnsbl_listed", 4},
        {"127.255.255.254 means refused, not listed", {"127.255.255.254"}, "dnsbl_refused", 0},
        {"127.255.255.252 means rate limited, not listed", {"127.255.255.252"},
         "dnsbl_refused", 0},
        {"an answer outside 127/8 is not a listing", {"192.0.2.1"}, "dnsbl_error", 0},
        {"no answer is not listed", {}, "", 0},
    };
    for (const auto& c : cases) {
        DYNAMIC_SECTION(c.what)
        {
            MapResolver resolver;
            if (!c.answer.empty())
                resolver.add("9.100.51.198.bl.example.net", dns::RecordType::a, c.answer);
            std::vector<Finding> findings;
            check_dnsbl(policy, envelope_from("198.51.100.9"), resolver, findings);
            if (c.id.empty()) {
                CHECK(findings.empty());
            } else {
                REQUIRE(findings.size() == 1);
                CHECK(findings[0].id == c.id);
                CHECK(findings[0].score == c.score);
            }
        }
    }
}

TEST_CASE("a listing names the zone, code and meaning, and policy weights override it",
          "[checks]")
{
    Policy policy = org_policy();
    Blocklist list{"bl.example.net", 4, {}};
    list.codes["127.0.0.2"] = ListCode{"spam source", 8};
    policy.connection.dnsbl = {list};
    MapResolver resolver;
    resolver.add("9.100.51.198.bl.example.net", dns::RecordType::a, {"127.0.0.2"});

    std::vector<Finding> findings;
    check_dnsbl(policy, envelope_from("198.51.100.9"), resolver, findings);
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].detail == "198.51.100.9 is listed in bl.example.net: 127.0.0.2 (spam "
                                "source)");

    policy.weights["dnsbl_listed"] = 1.5;
    policy.actions["dnsbl_listed"] = "reject";
    findings.clear();
    check_dnsbl(policy, envelope_from("198.51.100.9"), resolver, findings);
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].score == 1.5);
    CHECK(findings[0].hard_action == Action::reject);
}

TEST_CASE("a blocklist timeout is a zero-score finding and the next zone is still asked",
          "[checks]")
{
    Policy policy = org_policy();
    policy.connection.dnsbl = {Blocklist{"slow.example.net", 5, {}},
                               Blocklist{"bl.example.net", 5, {}}};
    MapResolver resolver;
    resolver.fail("9.100.51.198.slow.example.net", dns::RecordType::a);
    resolver.add("9.100.51.198.bl.example.net", dns::RecordType::a, {"127.0.0.2"});

    std::vector<Finding> findings;
    check_dnsbl(policy, envelope_from("198.51.100.9"), resolver, findings);
    REQUIRE(ids(findings) == std::vector<std::string>{"dnsbl_error", "dnsbl_listed"});
    CHECK(findings[0].score == 0);
    CHECK(findings[0].detail ==
          "slow.example.net lookup of 198.51.100.9 failed (timeout after 2000 ms): not counted");
}

TEST_CASE("forward-confirmed reverse DNS needs a PTR name that resolves back", "[checks]")
{
    const std::string ptr = "9.100.51.198.in-addr.arpa";
    struct Case {
        const char* what;
        std::function<void(MapResolver&)> zone;
        std::string id;
    };
    const Case cases[] = {
        {"confirmed",
         [&](MapResolver& r) {
             r.add(ptr, dns::RecordType::ptr, {"mx.sender.net"});
             r.add("mx.sender.net", dns::RecordType::a, {"198.51.100.9"});
         },
         ""},
        {"confirmed by the second name",
         [&](MapResolver& r) {
             r.add(ptr, dns::RecordType::ptr, {"a.sender.net", "b.sender.net"});
             r.add("a.sender.net", dns::RecordType::a, {"192.0.2.1"});
             r.add("b.sender.net", dns::RecordType::a, {"198.51.100.9"});
         },
         ""},
        {"no PTR record", [](MapResolver&) {}, "rdns_missing"},
        {"PTR name resolves elsewhere",
         [&](MapResolver& r) {
             r.add(ptr, dns::RecordType::ptr, {"mx.sender.net"});
             r.add("mx.sender.net", dns::RecordType::a, {"192.0.2.1"});
         },
         "fcrdns_mismatch"},
        {"PTR lookup times out",
         [&](MapResolver& r) { r.fail(ptr, dns::RecordType::ptr); }, "rdns_temperror"},
        {"forward lookup times out",
         [&](MapResolver& r) {
             r.add(ptr, dns::RecordType::ptr, {"mx.sender.net"});
             r.fail("mx.sender.net", dns::RecordType::a);
         },
         "rdns_temperror"},
    };
    for (const auto& c : cases) {
        DYNAMIC_SECTION(c.what)
        {
            MapResolver resolver;
            c.zone(resolver);
            std::vector<Finding> findings;
            check_reverse_dns(org_policy(), envelope_from("198.51.100.9"), resolver, findings);
            if (c.id.empty()) {
                CHECK(findings.empty());
            } else {
                CHECK(ids(findings) == std::vector<std::string>{c.id});
            }
        }
    }
}

TEST_CASE("forward confirmation compares IPv6 addresses, not their spelling", "[checks]")
{
    MapResolver resolver;
    auto reverse = dns::reverse_name("2001:db8::25");
    REQUIRE(reverse);
    resolver.add(*reverse, dns::RecordType::ptr, {"mx6.sender.net"});
    resolver.add("mx6.sender.net", dns::RecordType::aaaa, {"2001:0db8:0000::0025"});
    std::vector<Finding> findings;
    check_reverse_dns(org_policy(), envelope_from("2001:db8::25"), resolver, findings);
    CHECK(findings.empty());
}

TEST_CASE("HELO names are checked for form and for claims to be us", "[checks]")
{
    struct Case {
        const char* what;
        std::string ip;
        std::string helo;
        std::vector<std::string> ids;
    };
    const Case cases[] = {
        {"a proper name", "198.51.100.9", "mx.sender.net", {}},
        {"a proper name with a final dot", "198.51.100.9", "mx.sender.net.", {}},
        {"a bare IP", "198.51.100.9", "198.51.100.9", {"helo_bare_ip"}},
        {"a matching literal", "198.51.100.9", "[198.51.100.9]", {}},
        {"a matching IPv6 literal", "2001:db8::9", "[IPv6:2001:DB8::9]", {}},
        {"another address's literal", "198.51.100.9", "[192.0.2.1]", {"helo_literal_mismatch"}},
        {"a bare word", "198.51.100.9", "localhost", {"helo_not_fqdn"}},
        {"a name with an underscore", "198.51.100.9", "my_host.sender.net", {"helo_not_fqdn"}},
        {"an all-digit top label", "198.51.100.9", "host.123", {"helo_not_fqdn"}},
        {"our domain from outside", "198.51.100.9", "example.com", {"helo_claims_our_domain"}},
        {"our subdomain from outside", "198.51.100.9", "MX.Example.COM",
         {"helo_claims_our_domain"}},
        {"our domain from our own client", "10.0.0.5", "mx.example.com", {}},
        {"loopback literal from outside", "198.51.100.9", "[127.0.0.1]",
         {"helo_claims_our_address", "helo_literal_mismatch"}},
        {"our address bare from outside", "198.51.100.9", "10.0.0.1",
         {"helo_bare_ip", "helo_claims_our_address", "helo_literal_mismatch"}},
        {"no HELO with a client", "198.51.100.9", "", {"helo_missing"}},
        {"a 1 MB HELO", "198.51.100.9", std::string(1 << 20, 'a'), {"helo_not_fqdn"}},
    };
    for (const auto& c : cases) {
        DYNAMIC_SECTION(c.what)
        {
            std::vector<Finding> findings;
            check_helo(org_policy(), envelope_from(c.ip, c.helo), findings);
            CHECK(ids(findings) == c.ids);
        }
    }
}

TEST_CASE("a bare address HELO taken from a Received field is read as a literal",
          "[checks]")
{
    Envelope envelope = envelope_from("198.51.100.9", "198.51.100.9");
    envelope.derived_from = "received";
    std::vector<Finding> findings;
    check_helo(org_policy(), envelope, findings);
    CHECK(findings.empty());
}

TEST_CASE("findings carry the catalog weight unless the policy overrides it", "[checks]")
{
    Policy policy = org_policy();
    std::vector<Finding> findings;
    check_helo(policy, envelope_from("198.51.100.9", "localhost"), findings);
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].score == find_finding("helo_not_fqdn")->weight);

    policy.weights["helo_not_fqdn"] = 2.5;
    findings.clear();
    check_helo(policy, envelope_from("198.51.100.9", "localhost"), findings);
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].score == 2.5);
    CHECK(!findings[0].hard_action);
    CHECK(find(findings, "helo_not_fqdn") != nullptr);
}
