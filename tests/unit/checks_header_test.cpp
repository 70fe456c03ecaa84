// The header layer's checks over messages parsed from text, with a fixed clock.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>

#include "checks/header_checks.hpp"

using namespace relaygate;
using namespace relaygate::checks::header;

namespace {

// 2023-12-05 00:00:00 UTC, the tests' "now".
constexpr std::int64_t now = 1701734400;

Policy org_policy()
{
    Policy policy = default_policy();
    policy.organization.domains = {"example.com"};
    policy.organization.people = {"Alice Martin", "Robert Durand"};
    policy.relay.allowed_clients = {"10.0.0.0/8"};
    return policy;
}

// A well-formed message with the given fields in place of the default From.
std::string message_text(const std::string& fields, bool with_from = true)
{
    std::string text = with_from ? "From: Carol <carol@partner.net>\r\n" : "";
    return text + fields +
           "Date: Mon, 4 Dec 2023 17:00:00 -0700\r\n"
           "Message-ID: <1@partner.net>\r\n"
           "Subject: hello\r\n\r\nbody\r\n";
}

std::vector<std::string> run(const std::string& text, const Policy& policy = org_policy(),
                             const Envelope& envelope = {})
{
    Message message = Message::parse(text);
    std::vector<Finding> findings;
    run_header_checks(policy, message, envelope, now, findings);
    std::vector<std::string> ids;
    for (const auto& finding : findings)
        ids.push_back(finding.id);
    return ids;
}

bool has(const std::vector<std::string>& ids, const std::string& id)
{
    return std::find(ids.begin(), ids.end(), id) != ids.end();
}

}  // namespace

TEST_CASE("a clean external message has no header findings", "[checks]")
{
    CHECK(run(message_text("")) == std::vector<std::string>{});
}

TEST_CASE("From, Date and Message-ID must each appear exactly once", "[checks]")
{
    std::string no_date = "From: a@partner.net\r\nMessage-ID: <1@p>\r\n\r\nx\r\n";
    CHECK(run(no_date) == std::vector<std::string>{"date_missing"});
    std::string no_id = "From: a@partner.net\r\nDate: Mon, 4 Dec 2023 17:00:00 -0700\r\n\r\nx";
    CHECK(run(no_id) == std::vector<std::string>{"message_id_missing"});
    CHECK(has(run(message_text("", false)), "from_missing"));
    CHECK(has(run(message_text("From: b@partner.net\r\n")), "from_duplicate"));
    CHECK(has(run(message_text("Date: Tue, 5 Dec 2023 00:00:00 +0000\r\n")),
              "date_duplicate"));
    CHECK(has(run(message_text("Message-ID: <2@partner.net>\r\n")), "message_id_duplicate"));
}

TEST_CASE("a From with no address or several addresses is a finding", "[checks]")
{
    CHECK(has(run(message_text("From: undisclosed-senders:;\r\n", false)), "from_no_address"));
    CHECK(has(run(message_text("From: a@partner.net, b@partner.net\r\n", false)),
              "from_multiple_addresses"));
}

TEST_CASE("a From of 10,000 addresses gives findings in bounded time", "[checks]")
{
    std::string from = "From: ";
    for (int i = 0; i < 10000; ++i)
        from += (i ? ", " : "") + std::string("Alice Martin <u") + std::to_string(i) +
                "@examp1e.com>";
    auto started = std::chrono::steady_clock::now();
    auto ids = run(message_text(from + "\r\n", false));
    auto elapsed = std::chrono::steady_clock::now() - started;
    CHECK(has(ids, "from_multiple_addresses"));
    CHECK(has(ids, "display_name_impersonation"));
    CHECK(std::count(ids.begin(), ids.end(), "lookalike_domain") == 1);
    CHECK(elapsed < std::chrono::seconds(2));
}

TEST_CASE("a 1 MB header line gives a finding in bounded time", "[checks]")
{
    std::string huge(1 << 20, 'x');
    auto started = std::chrono::steady_clock::now();
    auto ids = run(message_text("From: \"" + huge + "\" <a@partner.net>\r\nX-Long: " + huge +
                                    "\r\n",
                                false));
    auto elapsed = std::chrono::steady_clock::now() - started;
    CHECK(has(ids, "header_line_too_long"));
    CHECK(elapsed < std::chrono::seconds(2));
}

TEST_CASE("invalid UTF-8 in sender fields, raw or encoded, is a finding", "[checks]")
{
    CHECK(has(run(message_text("From: \"Al\xff\xfe\" <a@partner.net>\r\n", false)),
              "header_invalid_utf8"));
    CHECK(has(run(message_text("From: =?utf-8?q?Al=C3=28?= <a@partner.net>\r\n", false)),
              "header_invalid_utf8"));
    CHECK(has(run(message_text("Subject: \xc0\xaf overlong\r\n")), "header_invalid_utf8"));
    CHECK(!has(run(message_text("From: =?utf-8?q?=C3=89lise?= <e@partner.net>\r\n", false)),
               "header_invalid_utf8"));
}

TEST_CASE("an invalid punycode label in a sender domain is a finding", "[checks]")
{
    CHECK(has(run(message_text("From: a@xn--zzzz.com\r\n", false)), "idn_invalid"));
    CHECK(has(run(message_text("Reply-To: a@xn--.partner.net\r\n")), "idn_invalid"));
    CHECK(!has(run(message_text("From: a@xn--exmple-cua.net\r\n", false)), "idn_invalid"));
}

TEST_CASE("lookalikes of our domains are found by confusables, punycode and edit distance",
          "[checks]")
{
    struct Case {
        const char* domain;
        const char* id;  // nullptr: not a lookalike
    };
    const Case cases[] = {
        {"examp1e.com", "lookalike_domain"},    // 1 for l
        {"exarnple.com", "lookalike_domain"},   // rn for m
        {"EXAMPLE.co", "lookalike_domain"},     // same name, another suffix
        {"exampel.com", "lookalike_domain"},    // transposition
        {"exmple.com", "lookalike_domain"},     // deletion
        {"mail.example-pay.com", "lookalike_domain"},  // our name inside another
        {"example.com.evil.net", "lookalike_domain"},  // our domain as a prefix
        {"\xd0\xb5x\xd0\xb0mple.com", "lookalike_idn"},  // Cyrillic е and а
        {"xn--xmple-4ve7a.com", "lookalike_idn"},        // the same in punycode
        {"xn--exmple-cua.com", "lookalike_idn"},         // exämple
        {"example.com", nullptr},
        {"mail.Example.COM", nullptr},
        {"partner.net", nullptr},
        {"sample.com", nullptr},
        {"exam.com", nullptr},
        {"examples.org", nullptr},  // distance 1 but another suffix
    };
    for (const auto& c : cases) {
        DYNAMIC_SECTION(c.domain)
        {
            auto lookalike = find_lookalike(org_policy(), c.domain);
            if (!c.id) {
                CHECK(!lookalike);
                continue;
            }
            REQUIRE(lookalike);
            CHECK(lookalike->protected_domain == "example.com");
            CHECK((lookalike->idn ? "lookalike_idn" : "lookalike_domain") ==
                  std::string(c.id));
        }
    }
}

TEST_CASE("short protected names get no edit-distance lookalikes", "[checks]")
{
    Policy policy = org_policy();
    policy.organization.domains = {"abc.com"};
    CHECK(!find_lookalike(policy, "abd.com"));
    CHECK(find_lookalike(policy, "abc.net"));
    policy.header.lookalike_max_distance = 0;
    policy.organization.domains = {"example.com"};
    CHECK(!find_lookalike(policy, "exampel.com"));
    CHECK(find_lookalike(policy, "examp1e.com"));
}

TEST_CASE("a lookalike in From, Reply-To or Return-Path is reported with its field",
          "[checks]")
{
    Message message = Message::parse(message_text("Reply-To: ceo@exarnple.com\r\n"));
    std::vector<Finding> findings;
    check_senders(org_policy(), message, Envelope{}, findings);
    REQUIRE(!findings.empty());
    CHECK(findings[0].id == "lookalike_domain");
    CHECK(findings[0].detail ==
          "Reply-To domain \"exarnple.com\" looks like example.com (confusable characters)");
}

TEST_CASE("display names of our people from outside are impersonation", "[checks]")
{
    struct Case {
        const char* from;
        bool impersonation;
    };
    const Case cases[] = {
        {"Alice Martin <alice.martin@gmail.com>", true},
        {"\"MARTIN, Alice\" <x@partner.net>", true},
        {"\"Alice  Martin (CEO)\" <x@partner.net>", true},
        {"=?utf-8?q?=C3=81lice_M=C3=A1rtin?= <x@partner.net>", true},  // Álice Mártin
        {"A1ice Martin <x@partner.net>", true},                        // 1 for l
        {"=?utf-8?b?0JBsaWNlIE1hcnRpbg==?= <x@partner.net>", true},    // Cyrillic А
        {"Alice Martinez <x@partner.net>", false},
        {"Alice <x@partner.net>", false},
        {"Alice Martin <alice@example.com>", false},   // our own address: DMARC's business
        {"Alice Martin <alice@sales.example.com>", false},
    };
    for (const auto& c : cases) {
        DYNAMIC_SECTION(c.from)
        {
            auto ids = run(message_text(std::string("From: ") + c.from + "\r\n", false));
            CHECK(has(ids, "display_name_impersonation") == c.impersonation);
        }
    }
}

TEST_CASE("a display name showing our domain from outside is a spoof", "[checks]")
{
    CHECK(has(run(message_text("From: \"ceo@example.com\" <x@partner.net>\r\n", false)),
              "display_name_domain_spoof"));
    CHECK(has(run(message_text("From: \"Example.COM Billing\" <x@partner.net>\r\n", false)),
              "display_name_domain_spoof"));
    CHECK(!has(run(message_text("From: \"example.community news\" <x@partner.net>\r\n",
                                false)),
               "display_name_domain_spoof"));
    CHECK(!has(run(message_text("From: \"ceo@example.com\" <ceo@example.com>\r\n", false)),
               "display_name_domain_spoof"));
}

TEST_CASE("Reply-To elsewhere is a mismatch, and a diversion when From claims to be us",
          "[checks]")
{
    CHECK(run(message_text("Reply-To: carol@partner.net\r\n")) == std::vector<std::string>{});
    CHECK(run(message_text("Reply-To: c@news.partner.net\r\n")) == std::vector<std::string>{});
    CHECK(run(message_text("Reply-To: carol@gmail.com\r\n")) ==
          std::vector<std::string>{"reply_to_mismatch"});

    std::string spoofed = message_text("From: Alice <alice@example.com>\r\n"
                                       "Reply-To: alice.ceo@gmail.com\r\n",
                                       false);
    Envelope outside;
    outside.client_ip = "198.51.100.9";
    CHECK(run(spoofed, org_policy(), outside) == std::vector<std::string>{"reply_to_diversion"});
    Envelope internal;
    internal.client_ip = "10.0.0.5";
    CHECK(run(spoofed, org_policy(), internal) == std::vector<std::string>{"reply_to_mismatch"});

    std::string impersonating = message_text("From: Robert Durand <rd@mail.partner.net>\r\n"
                                             "Reply-To: robert@freemail.net\r\n",
                                             false);
    auto ids = run(impersonating, org_policy(), outside);
    CHECK(has(ids, "display_name_impersonation"));
    CHECK(has(ids, "reply_to_diversion"));
}

TEST_CASE("Return-Path or MAIL FROM on another organization is a mismatch", "[checks]")
{
    CHECK(has(run(message_text("Return-Path: <bounce@esp.example.net>\r\n")),
              "return_path_mismatch"));
    CHECK(!has(run(message_text("Return-Path: <bounce@mx.partner.net>\r\n")),
               "return_path_mismatch"));
    Envelope envelope;
    envelope.has_mail_from = true;
    envelope.mail_from = "bounce@esp.example.net";
    CHECK(has(run(message_text(""), org_policy(), envelope), "return_path_mismatch"));
    envelope.mail_from = "";
    CHECK(!has(run(message_text(""), org_policy(), envelope), "return_path_mismatch"));
}

TEST_CASE("RFC 5322 dates are read, obsolete forms included", "[checks]")
{
    CHECK(parse_date("Mon, 4 Dec 2023 17:00:00 -0700") == std::optional<std::int64_t>(now));
    CHECK(parse_date("4 Dec 23 17:00 GMT") == std::optional<std::int64_t>(1701709200));
    CHECK(parse_date("Tue, 05 Dec 2023 00:00:00 +0000 (UTC)") ==
          std::optional<std::int64_t>(now));
    CHECK(parse_date(" Mon,  4 Dec 2023 20:00:00 EST") ==
          std::optional<std::int64_t>(now + 3600));
    CHECK(!parse_date("yesterday"));
    CHECK(!parse_date("Mon, 32 Dec 2023 17:00:00 -0700"));
    CHECK(!parse_date("Mon, 4 Dec 2023 25:00:00 -0700"));
    CHECK(!parse_date("Mon, 4 Foo 2023 17:00:00 -0700"));
    CHECK(!parse_date("Mon, 4 Dec 2023 17:00:00"));
}

TEST_CASE("a Date that does not parse or lies in the future is a finding", "[checks]")
{
    std::string bad = "From: a@partner.net\r\nDate: sometime\r\nMessage-ID: <1@p>\r\n\r\nx";
    CHECK(run(bad) == std::vector<std::string>{"date_invalid"});
    std::string future =
        "From: a@partner.net\r\nDate: Wed, 6 Dec 2023 00:00:00 +0000\r\nMessage-ID: <1@p>\r\n"
        "\r\nx";
    CHECK(run(future) == std::vector<std::string>{"date_future"});
}

TEST_CASE("Received dates in the future or growing down the chain are findings", "[checks]")
{
    std::string ordered = message_text(
        "Received: from b.partner.net by mx.example.com; Tue, 5 Dec 2023 00:00:00 +0000\r\n"
        "Received: from a.partner.net by b.partner.net; Mon, 4 Dec 2023 23:59:00 +0000\r\n");
    CHECK(run(ordered) == std::vector<std::string>{});

    std::string future = message_text(
        "Received: from b.partner.net by mx.example.com; Tue, 5 Dec 2023 03:00:00 +0000\r\n");
    CHECK(run(future) == std::vector<std::string>{"received_date_future"});

    std::string disordered = message_text(
        "Received: from b.partner.net by mx.example.com; Tue, 5 Dec 2023 00:00:00 +0000\r\n"
        "Received: from a.partner.net by b.partner.net; Mon, 4 Dec 2023 12:00:00 +0000\r\n"
        "Received: from forged by a.partner.net; Mon, 4 Dec 2023 18:00:00 +0000\r\n");
    CHECK(run(disordered) == std::vector<std::string>{"received_out_of_order"});

    std::string within_skew = message_text(
        "Received: from b by mx.example.com; Tue, 5 Dec 2023 00:00:00 +0000\r\n"
        "Received: from a by b; Tue, 5 Dec 2023 00:05:00 +0000\r\n");
    CHECK(run(within_skew) == std::vector<std::string>{});
}

TEST_CASE("a flood of Received fields is a finding and is read only so far", "[checks]")
{
    std::string fields;
    for (int i = 0; i < 5000; ++i)
        fields += "Received: from h" + std::to_string(i) + " by x; Mon, 4 Dec 2023 12:00:00 "
                  "+0000\r\n";
    CHECK(run(message_text(fields)) == std::vector<std::string>{"received_too_many"});
}

TEST_CASE("edit distance counts a transposition as one and stops past its limit",
          "[checks]")
{
    CHECK(edit_distance(U"example", U"exampel", 3) == 1);
    CHECK(edit_distance(U"example", U"exmple", 3) == 1);
    CHECK(edit_distance(U"example", U"example", 3) == 0);
    CHECK(edit_distance(U"example", U"sample", 3) == 2);
    CHECK(edit_distance(U"example", U"zzzzzzzzzzzzzz", 2) == 3);
}

TEST_CASE("names fold case, diacritics, spacing and confusables", "[checks]")
{
    CHECK(fold_name("  MARTIN,\tÁlice ") == fold_name("martin alice"));
    CHECK(fold_name("A1ice") == fold_name("alice"));
    CHECK(fold_name("J0hn") == fold_name("john"));
    CHECK(fold_name("Alice") != fold_name("Alison"));
    CHECK(fold_text("\xff\xfe") == fold_text("\xef\xbf\xbd\xef\xbf\xbd"));  // read as U+FFFD
}
