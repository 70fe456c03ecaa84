// The envelope derived from Received fields, and the decision from findings to an action.
#include <catch2/catch.hpp>

#include "relaygate/checks.hpp"

using namespace relaygate;
using namespace relaygate::checks;

namespace {

Message message_with(const std::string& header)
{
    return Message::parse(header + "From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n");
}

const std::string chain =
    "Received: from relay.corp.example (relay.corp.example [10.1.1.5])\r\n"
    "\tby mx.corp.example with ESMTP id A1; Fri, 4 Dec 2026 10:00:02 +0000\r\n"
    "Received: from evil.example (unknown [198.51.100.7])\r\n"
    "\tby relay.corp.example with ESMTP id B2\r\n"
    "\tfor <pat@corp.example>; Fri, 4 Dec 2026 10:00:01 +0000\r\n";

}  // namespace

TEST_CASE("the newest Received field gives the client when no relay is trusted", "[checks]")
{
    Envelope envelope = derive_envelope(message_with(chain), {}, default_policy());
    CHECK(envelope.client_ip == "10.1.1.5");
    CHECK(envelope.helo == "relay.corp.example");
    CHECK(envelope.derived_from == "received");
}

TEST_CASE("trusted relays are walked past to the host that handed them the message", "[checks]")
{
    Policy policy = default_policy();
    policy.connection.trusted_relays = {"10.0.0.0/8"};
    Envelope envelope = derive_envelope(message_with(chain), {}, policy);
    CHECK(envelope.client_ip == "198.51.100.7");
    CHECK(envelope.helo == "evil.example");
    CHECK(envelope.rcpt_to == std::vector<std::string>{"pat@corp.example"});
}

TEST_CASE("a trusted relay name matches the reverse name, not the HELO the client chose",
          "[checks]")
{
    std::string forged =
        "Received: from relay.corp.example (unknown [198.51.100.9])\r\n"
        "\tby mx.corp.example; Fri, 4 Dec 2026 10:00:02 +0000\r\n"
        "Received: from inner.example (inner.example [192.0.2.1])\r\n"
        "\tby somewhere; Fri, 4 Dec 2026 10:00:01 +0000\r\n";
    Policy policy = default_policy();
    policy.connection.trusted_relays = {"relay.corp.example"};
    Envelope envelope = derive_envelope(message_with(forged), {}, policy);
    CHECK(envelope.client_ip == "198.51.100.9");
}

TEST_CASE("loopback hops are never the client", "[checks]")
{
    std::string local =
        "Received: from localhost (localhost [127.0.0.1])\r\n"
        "\tby mx.corp.example; Fri, 4 Dec 2026 10:00:03 +0000\r\n" + chain;
    Envelope envelope = derive_envelope(message_with(local), {}, default_policy());
    CHECK(envelope.client_ip == "10.1.1.5");
}

TEST_CASE("the Exim Received form and IPv6 literals are read", "[checks]")
{
    std::string exim =
        "Received: from mail.example.net ([IPv6:2001:db8::25] helo=mx.example.net)\r\n"
        "\tby mx.corp.example with esmtps; Fri, 4 Dec 2026 10:00:03 +0000\r\n";
    Envelope envelope = derive_envelope(message_with(exim), {}, default_policy());
    CHECK(envelope.client_ip == "2001:db8::25");
    CHECK(envelope.helo == "mx.example.net");
}

TEST_CASE("envelope options win over the Received chain and say so", "[checks]")
{
    EnvelopeOptions options;
    options.client_ip = "192.0.2.44";
    options.mail_from = "";
    options.has_mail_from = true;
    Envelope envelope = derive_envelope(message_with(chain), options, default_policy());
    CHECK(envelope.client_ip == "192.0.2.44");
    CHECK(envelope.has_mail_from);
    CHECK(envelope.mail_from.empty());
    CHECK(envelope.derived_from == "options");
}

TEST_CASE("a message without Received fields has no derived envelope", "[checks]")
{
    Envelope envelope = derive_envelope(message_with(""), {}, default_policy());
    CHECK(envelope.client_ip.empty());
    CHECK(envelope.derived_from == "none");
}

namespace {

Verdict verdict_with(std::vector<Finding> findings)
{
    Verdict verdict;
    verdict.layers.push_back(LayerReport{"auth", 0, 0, std::move(findings)});
    return verdict;
}

}  // namespace

TEST_CASE("a hard action decides before the thresholds and is named in the reason",
          "[checks]")
{
    Verdict verdict = verdict_with({Finding{"auth", "spf_fail", 1, "x", std::nullopt},
                                    Finding{"auth", "dmarc_quarantine", 1, "y",
                                            Action::quarantine}});
    decide(default_policy(), verdict, false);
    CHECK(verdict.action == Action::quarantine);
    CHECK(verdict.reason.rfind("dmarc_quarantine", 0) == 0);
}

TEST_CASE("scores map to actions through the thresholds", "[checks]")
{
    Policy policy = default_policy();
    policy.thresholds.quarantine = 5;
    policy.thresholds.reject = 10;
    for (auto [score, action] : {std::pair{4.9, Action::accept}, {5.0, Action::quarantine},
                                 {9.9, Action::quarantine}, {10.0, Action::reject}}) {
        Verdict verdict = verdict_with({Finding{"header", "some_id", score, "d", std::nullopt}});
        decide(policy, verdict, false);
        CHECK(verdict.action == action);
        if (action != Action::accept)
            CHECK(verdict.reason.rfind("some_id: d (score", 0) == 0);
    }
}

TEST_CASE("policy weights and actions override what a layer gave", "[checks]")
{
    Policy policy = default_policy();
    policy.weights["some_id"] = 20;
    Verdict verdict = verdict_with({Finding{"header", "some_id", 1, "d", std::nullopt}});
    decide(policy, verdict, false);
    CHECK(verdict.score == 20);
    CHECK(verdict.action == Action::reject);

    policy.actions["dmarc_reject"] = "none";
    verdict = verdict_with({Finding{"auth", "dmarc_reject", 0, "d", Action::reject}});
    decide(policy, verdict, false);
    CHECK(verdict.action == Action::accept);
}

TEST_CASE("a temporary DNS failure turns anything but a reject into tempfail", "[checks]")
{
    Verdict verdict = verdict_with({});
    decide(default_policy(), verdict, true);
    CHECK(verdict.action == Action::tempfail);

    verdict = verdict_with({Finding{"auth", "dmarc_reject", 10, "d", Action::reject}});
    decide(default_policy(), verdict, true);
    CHECK(verdict.action == Action::reject);
}
