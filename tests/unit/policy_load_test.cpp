// The policy loader: every error form names the file, line, column and key path; the
// default policy and `config show` output are valid policies.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include "relaygate/policy.hpp"

using namespace relaygate;

namespace {

std::string error_of(const std::string& text)
{
    try {
        parse_policy(text, "p.json");
    } catch (const PolicyError& error) {
        return error.what();
    }
    return "(no error)";
}

std::string data_file(const std::string& name)
{
    return std::string(RELAYGATE_SOURCE_DIR) + "/tests/data/policy/" + name;
}

}  // namespace

TEST_CASE("each malformed policy gives one error line naming location and key path",
          "[policy]")
{
    struct Case {
        const char* what;
        std::string text;
        std::string error;
    };
    const Case cases[] = {
        {"unknown top-level key", "{\n  \"organisation\": {}\n}",
         "p.json:2:3: organisation: unknown key; expected one of authserv_id, organization, "
         "connection, header, auth, payload, relay, layers, thresholds, weights, actions, "
         "short_circuit"},
        {"unknown nested key", "{\"organization\": {\"domain\": [\"example.com\"]}}",
         "p.json:1:19: organization.domain: unknown key; expected one of domains, people"},
        {"wrong type", "{\n\"thresholds\": {\"reject\": \"10\"}}",
         "p.json:2:16: thresholds.reject: expected a number, got the string \"10\""},
        {"list item of wrong type", "{\"organization\": {\"people\": [\"Ann\", 3]}}",
         "p.json:1:37: organization.people[1]: expected a person's name, got the number 3"},
        {"bad CIDR prefix", "{\"relay\": {\"allowed_clients\": [\"10.0.0.0/33\"]}}",
         "p.json:1:32: relay.allowed_clients[0]: expected a CIDR such as 192.0.2.0/24, got "
         "the string \"10.0.0.0/33\""},
        {"bad IPv6 CIDR", "{\"connection\": {\"block\": [\"2001:db8::zz/32\"]}}",
         "p.json:1:27: connection.block[0]: expected a CIDR such as 192.0.2.0/24, got the "
         "string \"2001:db8::zz/32\""},
        {"unknown layer", "{\"layers\": [\"connection\", \"headers\"]}",
         "p.json:1:27: layers[1]: expected one of connection, header, auth, payload, got the "
         "string \"headers\""},
        {"layer twice", "{\"layers\": [\"auth\", \"auth\"]}",
         "p.json:1:21: layers[1]: expected each layer once, got \"auth\" again"},
        {"unknown action", "{\"actions\": {\"relay_denied\": \"drop\"}}",
         "p.json:1:14: actions.relay_denied: expected one of accept, quarantine, reject, "
         "tempfail, none, got the string \"drop\""},
        {"finding id not in the catalog", "{\"weights\": {\"Relay-Denied\": 3}}",
         "p.json:1:14: weights.Relay-Denied: expected a finding id (relaygate config findings "
         "lists them)"},
        {"quarantine threshold not above zero", "{\"thresholds\": {\"quarantine\": -5}}",
         "p.json:1:17: thresholds.quarantine: expected a number above 0, got -5"},
        {"number out of range", "{\"weights\": {\"spf_fail\": 1e400}}",
         "p.json: number overflow parsing '1e400'"},
        {"misspelt finding id", "{\"actions\": {\"relay_denid\": \"reject\"}}",
         "p.json:1:14: actions.relay_denid: expected a finding id (relaygate config findings "
         "lists them)"},
        {"thresholds out of order", "{\"thresholds\": {\"quarantine\": 8,\n \"reject\": 4}}",
         "p.json:2:2: thresholds.reject: expected a number not below thresholds.quarantine "
         "(8), got 4"},
        {"blocklist code outside 127/8",
         "{\"connection\": {\"dnsbl\": [{\"zone\": \"bl.example\", \"codes\": "
         "{\"10.0.0.2\": {\"weight\": 3}}}]}}",
         "p.json:1:60: connection.dnsbl[0].codes.10.0.0.2: expected a return code in "
         "127.0.0.0/8 such as 127.0.0.2"},
        {"blocklist without a zone", "{\"connection\": {\"dnsbl\": [{\"weight\": 3}]}}",
         "p.json:1:27: connection.dnsbl[0].zone: expected a zone name such as zen.example.org"},
        {"count out of range", "{\"relay\": {\"timeout_seconds\": 0}}",
         "p.json:1:12: relay.timeout_seconds: expected a whole number from 1 to 3600, got the "
         "number 0"},
        {"duplicate key", "{\"thresholds\": {\"reject\": 9, \"reject\": 12}}",
         "p.json:1:30: thresholds.reject: duplicate key; expected each key once"},
        {"top level not an object", "[1, 2]",
         "p.json:1:1: (top level): expected an object, got an array"},
        {"upstream without scheme", "{\"relay\": {\"upstream\": \"mail.example.com:25\"}}",
         "p.json:1:12: relay.upstream: expected smtp://HOST:PORT or smtps://HOST:PORT, got the "
         "string \"mail.example.com:25\""},
    };
    for (const auto& c : cases) {
        DYNAMIC_SECTION(c.what)
        {
            CHECK(error_of(c.text) == c.error);
        }
    }
}

TEST_CASE("a syntax error names the line and column where the parser stopped", "[policy]")
{
    CHECK(error_of("{\n  // comment\n  \"layers\": [\"auth\",]\n}") ==
          "p.json:3:21: syntax error while parsing value - unexpected ']'; expected '[', '{', "
          "or a literal");
    CHECK(error_of("") ==
          "p.json:1:1: syntax error while parsing value - unexpected end of input; expected "
          "'[', '{', or a literal");
}

TEST_CASE("comments of both forms are allowed in a policy file", "[policy]")
{
    Policy policy = parse_policy("/* block */ {\n // line\n \"thresholds\": {\"reject\": 12}"
                                 " /* after */ }",
                                 "p.json");
    CHECK(policy.thresholds.reject == 12);
    CHECK(policy.thresholds.quarantine == 5);
}

TEST_CASE("the default policy has ordered thresholds, every layer and loopback relaying",
          "[policy]")
{
    Policy policy = default_policy();
    CHECK(policy.thresholds.quarantine < policy.thresholds.reject);
    CHECK(policy.layers == std::vector<std::string>{"connection", "header", "auth", "payload"});
    CHECK(policy.relay.allowed_clients ==
          std::vector<std::string>{"127.0.0.0/8", "::1/128"});
    CHECK(policy.organization.domains.empty());
    CHECK(!policy.short_circuit.has_value());
}

TEST_CASE("keys a file leaves out keep their defaults and weights merge id by id", "[policy]")
{
    Policy policy = parse_policy(R"({"organization": {"domains": ["Example.COM"]},
        "weights": {"lookalike_domain": 9.5}, "actions": {"relay_denied": "none",
        "dnsbl_listed": "reject"}})",
                                 "p.json");
    CHECK(policy.organization.domains == std::vector<std::string>{"example.com"});
    CHECK(policy.relay.allowed_clients == default_policy().relay.allowed_clients);
    CHECK(finding_weight(policy, "lookalike_domain") == 9.5);
    CHECK(finding_weight(policy, "display_name_impersonation") ==
          find_finding("display_name_impersonation")->weight);
    CHECK(finding_action(policy, "relay_denied").empty());
    CHECK(finding_action(policy, "dnsbl_listed") == "reject");
    CHECK(finding_action(default_policy(), "relay_denied") == "reject");
    CHECK(finding_weight(policy, "not_a_known_finding") == 0);
}

TEST_CASE("config show output loads back to the same effective policy", "[policy]")
{
    Policy original = load_policy(data_file("full.jsonc"));
    std::string shown = policy_to_json(original);
    Policy reloaded = parse_policy(shown, "shown.json");
    CHECK(policy_to_json(reloaded) == shown);
    CHECK(reloaded.connection.dnsbl.size() == 1);
    CHECK(reloaded.connection.dnsbl[0].codes.at("127.0.0.4").weight == 3);
    CHECK(reloaded.organization.people == original.organization.people);
    CHECK(reloaded.short_circuit == std::optional<bool>(true));
    CHECK(policy_to_json(parse_policy(policy_to_json(default_policy()), "d.json")) ==
          policy_to_json(default_policy()));
}

TEST_CASE("the sample policy in samples/ is valid", "[policy]")
{
    Policy policy = load_policy(std::string(RELAYGATE_SOURCE_DIR) + "/samples/policy.jsonc");
    CHECK(!policy.organization.domains.empty());
    CHECK(!policy.connection.dnsbl.empty());
}

TEST_CASE("a missing policy file is a one-line error naming the file", "[policy]")
{
    std::string path = data_file("no-such-file.json");
    CHECK_THROWS_WITH(load_policy(path), "cannot open " + path + ": No such file or directory");
}

TEST_CASE("an error deep in a file is located by line and column", "[policy]")
{
    std::string path = data_file("bad-dnsbl-weight.jsonc");
    CHECK_THROWS_WITH(load_policy(path),
                      path + ":9:13: connection.dnsbl[0].codes.127.0.0.2.weight: expected a "
                             "number, got the string \"high\"");
}
