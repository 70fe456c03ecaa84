// SpfChecker: RFC 7208 behaviour, in particular where libspf2 (DEPENDENCIES.md 3) answered
// wrongly; each such test would fail on the libspf2 path.
#include <catch2/catch.hpp>

#include <string>
#include <thread>
#include <vector>

#include "relaygate/auth.hpp"
#include "unit/auth_spf_test_resolver.hpp"

namespace {

using relaygate::auth::SpfChecker;
using relaygate::auth::SpfOutcome;
using relaygate::dns::RecordType;
using relaygate::test::MapResolver;

relaygate::Envelope envelope_of(std::string client_ip, std::string helo, std::string mail_from)
{
    relaygate::Envelope envelope;
    envelope.client_ip = std::move(client_ip);
    envelope.helo = std::move(helo);
    envelope.mail_from = std::move(mail_from);
    envelope.has_mail_from = true;
    return envelope;
}

// Checks MAIL FROM user@domain from client_ip.
SpfOutcome check_sender(MapResolver& resolver, const std::string& client_ip,
                        const std::string& domain)
{
    SpfChecker checker(resolver);
    return checker.check(envelope_of(client_ip, "mail.example.org", "user@" + domain));
}

}  // namespace

TEST_CASE("more than two void lookups make the result permerror", "[auth_spf]")
{
    // libspf2 has no void-lookup limit: it passes on the final ip4.
    MapResolver resolver;
    resolver.add("void.test", RecordType::txt,
                 "v=spf1 a:no1.void.test a:no2.void.test a:no3.void.test ip4:192.0.2.10 -all");
    resolver.add("two.test", RecordType::txt,
                 "v=spf1 a:no1.void.test mx:no2.void.test ip4:192.0.2.10 -all");

    SpfOutcome over = check_sender(resolver, "192.0.2.10", "void.test");
    CHECK(over.result == "permerror");
    CHECK(over.reason.find("void") != std::string::npos);
    CHECK(check_sender(resolver, "192.0.2.10", "two.test").result == "pass");
}

TEST_CASE("the void-lookup limit is an option", "[auth_spf]")
{
    MapResolver resolver;
    resolver.add("void.test", RecordType::txt,
                 "v=spf1 a:no1.void.test a:no2.void.test a:no3.void.test ip4:192.0.2.10 -all");
    relaygate::auth::SpfOptions options;
    options.max_void_lookups = 3;
    SpfChecker checker(resolver, options);
    CHECK(checker.check(envelope_of("192.0.2.10", "h.test", "a@void.test")).result == "pass");
}

TEST_CASE("redirect= is ignored when the record has an all mechanism", "[auth_spf]")
{
    // libspf2 follows the redirect and passes; RFC 7208 6.1 ignores it here.
    MapResolver resolver;
    resolver.add("closed.test", RecordType::txt, "v=spf1 redirect=open.test ~all");
    resolver.add("open.test", RecordType::txt, "v=spf1 +all");
    resolver.add("redirected.test", RecordType::txt, "v=spf1 ip4:198.51.100.1 redirect=open.test");

    CHECK(check_sender(resolver, "192.0.2.10", "closed.test").result == "softfail");
    CHECK(check_sender(resolver, "192.0.2.10", "redirected.test").result == "pass");
}

TEST_CASE("syntax errors are permerror and DNS failures temperror, never (invalid)",
          "[auth_spf]")
{
    MapResolver resolver;
    resolver.add("unknown.test", RecordType::txt, "v=spf1 foo:bar -all");
    resolver.add("badip.test", RecordType::txt, "v=spf1 ip4:999.1.1.1 -all");
    resolver.add_timeout("timeout.test");
    resolver.add("lookup.test", RecordType::txt, "v=spf1 a:slow.test -all");
    resolver.add_timeout("slow.test");

    CHECK(check_sender(resolver, "192.0.2.10", "unknown.test").result == "permerror");
    CHECK(check_sender(resolver, "192.0.2.10", "badip.test").result == "permerror");
    CHECK(check_sender(resolver, "192.0.2.10", "timeout.test").result == "temperror");
    CHECK(check_sender(resolver, "192.0.2.10", "lookup.test").result == "temperror");
}

TEST_CASE("records longer than libspf2's compiled buffer are evaluated to the end",
          "[auth_spf]")
{
    // libspf2 drops the terms after ~511 compiled bytes (66 ip4 terms) and answers neutral.
    constexpr int term_count = 80;
    std::string record = "v=spf1";
    for (int i = 1; i <= term_count; ++i) {
        record += " ip4:198.51.100." + std::to_string(i);
    }
    record += " -all";
    REQUIRE(record.size() > 1100);
    MapResolver resolver;
    resolver.add("long.test", RecordType::txt, record);

    CHECK(check_sender(resolver, "198.51.100.80", "long.test").result == "pass");
    CHECK(check_sender(resolver, "192.0.2.10", "long.test").result == "fail");
}

TEST_CASE("long ip6 records are evaluated to the end", "[auth_spf]")
{
    constexpr int term_count = 30;
    std::string record = "v=spf1";
    for (int i = 1; i <= term_count; ++i) {
        record += " ip6:2001:db8:1234:5678:9abc:def0:1234:" + std::to_string(1000 + i) + "/128";
    }
    record += " -all";
    MapResolver resolver;
    resolver.add("long6.test", RecordType::txt, record);

    CHECK(check_sender(resolver, "2001:db8:1234:5678:9abc:def0:1234:1030", "long6.test").result ==
          "pass");
    CHECK(check_sender(resolver, "2001:db8::1", "long6.test").result == "fail");
}

TEST_CASE("loopback clients are evaluated like any other address", "[auth_spf]")
{
    // libspf2 passes 127.0.0.0/8 and ::1 without a lookup ("localhost is always allowed").
    MapResolver resolver;
    resolver.add("strict.test", RecordType::txt, "v=spf1 -all");
    resolver.add("local.test", RecordType::txt, "v=spf1 ip4:127.0.0.1 ip6:::1 -all");

    CHECK(check_sender(resolver, "127.0.0.1", "strict.test").result == "fail");
    CHECK(check_sender(resolver, "::1", "strict.test").result == "fail");
    CHECK(check_sender(resolver, "127.0.0.1", "local.test").result == "pass");
    CHECK(check_sender(resolver, "::1", "local.test").result == "pass");
}

TEST_CASE("the null sender is checked as postmaster at the HELO name", "[auth_spf]")
{
    MapResolver resolver;
    resolver.add("mail.helo.test", RecordType::txt,
                 "v=spf1 exists:%{l}.%{o}.allowed.test -all");
    resolver.add("postmaster.mail.helo.test.allowed.test", RecordType::a, "127.0.0.2");
    SpfChecker checker(resolver);

    SpfOutcome outcome = checker.check(envelope_of("192.0.2.10", "mail.helo.test", ""));
    CHECK(outcome.result == "pass");
    CHECK(outcome.scope == "helo");
    CHECK(outcome.domain == "mail.helo.test");
}

TEST_CASE("check uses MAIL FROM when there is one, not the HELO name", "[auth_spf]")
{
    MapResolver resolver;
    resolver.add("mail.helo.test", RecordType::txt, "v=spf1 +all");
    resolver.add("sender.test", RecordType::txt, "v=spf1 -all");
    SpfChecker checker(resolver);

    SpfOutcome outcome = checker.check(envelope_of("192.0.2.10", "mail.helo.test",
                                                   "someone@sender.test"));
    CHECK(outcome.result == "fail");
    CHECK(outcome.scope == "mailfrom");
    CHECK(outcome.domain == "sender.test");
}

TEST_CASE("check without a client IP is none and makes no lookup", "[auth_spf]")
{
    MapResolver resolver;
    resolver.add("sender.test", RecordType::txt, "v=spf1 -all");
    SpfChecker checker(resolver);

    SpfOutcome outcome = checker.check(envelope_of("", "mail.helo.test", "a@sender.test"));
    CHECK(outcome.result == "none");
    CHECK_FALSE(outcome.reason.empty());
    CHECK(resolver.queries().empty());
}

TEST_CASE("a sender or HELO that is not a domain name gives none", "[auth_spf]")
{
    MapResolver resolver;
    SpfChecker checker(resolver);

    CHECK(checker.check(envelope_of("192.0.2.10", "[192.0.2.10]", "")).result == "none");
    CHECK(checker.check(envelope_of("192.0.2.10", "localhost", "")).result == "none");
    CHECK(checker.check(envelope_of("192.0.2.10", "h.test", "a@[192.0.2.10]")).result ==
          "none");
    CHECK(resolver.queries().empty());
}

TEST_CASE("a sender without a local part is postmaster", "[auth_spf]")
{
    MapResolver resolver;
    resolver.add("nolocal.test", RecordType::txt, "v=spf1 -all exp=why.nolocal.test");
    resolver.add("why.nolocal.test", RecordType::txt, "%{l} is not allowed from %{i}");
    SpfChecker checker(resolver);

    SpfOutcome outcome = checker.check(envelope_of("192.0.2.10", "h.test", "@nolocal.test"));
    CHECK(outcome.result == "fail");
    CHECK(outcome.explanation == "postmaster is not allowed from 192.0.2.10");
}

TEST_CASE("more than ten DNS-querying mechanisms are permerror", "[auth_spf]")
{
    MapResolver resolver;
    std::string record = "v=spf1";
    for (int i = 0; i < 11; ++i) {
        std::string name = "n" + std::to_string(i) + ".limit.test";
        record += " include:" + name;
        resolver.add(name, RecordType::txt, "v=spf1 ip4:198.51.100.1 -all");
    }
    resolver.add("limit.test", RecordType::txt, record + " ip4:192.0.2.10 -all");

    CHECK(check_sender(resolver, "192.0.2.10", "limit.test").result == "permerror");
}

TEST_CASE("explanations are the published exp= text, and empty without one", "[auth_spf]")
{
    MapResolver resolver;
    resolver.add("exp.test", RecordType::txt, "v=spf1 -all exp=why.exp.test");
    resolver.add("why.exp.test", RecordType::txt, "%{d} does not send from %{c}");
    resolver.add("plain.test", RecordType::txt, "v=spf1 -all");

    SpfOutcome explained = check_sender(resolver, "2001:db8::5", "exp.test");
    CHECK(explained.explanation == "exp.test does not send from 2001:db8::5");
    CHECK(check_sender(resolver, "192.0.2.10", "plain.test").explanation.empty());
}

TEST_CASE("every lookup goes through the resolver it was given", "[auth_spf]")
{
    MapResolver resolver;
    resolver.add("chain.test", RecordType::txt, "v=spf1 include:inc.chain.test mx -all");
    resolver.add("inc.chain.test", RecordType::txt, "v=spf1 a -all");
    resolver.add("inc.chain.test", RecordType::a, "198.51.100.7");
    resolver.add("chain.test", RecordType::mx, "10 mx.chain.test");
    resolver.add("mx.chain.test", RecordType::a, "192.0.2.10");

    CHECK(check_sender(resolver, "192.0.2.10", "chain.test").result == "pass");
    std::vector<std::string> want = {"chain.test/16", "inc.chain.test/16", "inc.chain.test/1",
                                     "chain.test/15", "mx.chain.test/1"};
    CHECK(resolver.queries() == want);
}

TEST_CASE("hostile records end in a bounded result, not a crash", "[auth_spf]")
{
    MapResolver resolver;
    std::string flood = "v=spf1";
    constexpr int macro_count = 4000;
    for (int i = 0; i < macro_count; ++i) {
        flood += " exists:%{s}%{s}%{s}%{s}.%{d}";
    }
    resolver.add("flood.test", RecordType::txt, flood);
    resolver.add("loop.test", RecordType::txt, "v=spf1 include:loop.test");
    resolver.add("redirect-loop.test", RecordType::txt, "v=spf1 redirect=redirect-loop.test");
    resolver.add("exp-flood.test", RecordType::txt, "v=spf1 -all exp=why.exp-flood.test");
    resolver.add("why.exp-flood.test", RecordType::txt, std::string(60000, 'x') + "%{s}");

    CHECK(check_sender(resolver, "192.0.2.10", "flood.test").result == "permerror");
    CHECK(check_sender(resolver, "192.0.2.10", "loop.test").result == "permerror");
    CHECK(check_sender(resolver, "192.0.2.10", "redirect-loop.test").result == "permerror");
    SpfOutcome exp = check_sender(resolver, "192.0.2.10", "exp-flood.test");
    CHECK(exp.result == "fail");
    CHECK(exp.explanation.size() <= 4096);
}

TEST_CASE("one checker serves several threads with per-evaluation limits", "[auth_spf]")
{
    // Two void lookups per evaluation: a shared counter would exceed the limit at once.
    MapResolver resolver;
    resolver.add("edge.test", RecordType::txt,
                 "v=spf1 a:no1.edge.test a:no2.edge.test ip4:192.0.2.0/24 -all");
    SpfChecker checker(resolver);
    constexpr int threads = 4;
    constexpr int rounds = 200;
    std::vector<int> wrong(threads, 0);
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            for (int i = 0; i < rounds; ++i) {
                std::string ip = (i % 2 == 0) ? "192.0.2.9" : "198.51.100.9";
                std::string want = (i % 2 == 0) ? "pass" : "fail";
                if (checker.check(envelope_of(ip, "h.test", "a@edge.test")).result != want) {
                    ++wrong[t];
                }
            }
        });
    }
    for (std::thread& worker : workers) {
        worker.join();
    }
    CHECK(wrong == std::vector<int>(threads, 0));
}

TEST_CASE("check_host reports the HELO scope for postmaster at the HELO name", "[auth_spf]")
{
    MapResolver resolver;
    resolver.add("mail.helo.test", RecordType::txt, "v=spf1 ip4:192.0.2.10 -all");
    SpfChecker checker(resolver);

    SpfOutcome helo = checker.check_host("192.0.2.10", "mail.helo.test",
                                         "postmaster@mail.helo.test", "mail.helo.test");
    CHECK(helo.result == "pass");
    CHECK(helo.scope == "helo");
    SpfOutcome mailfrom = checker.check_host("192.0.2.10", "mail.helo.test",
                                             "postmaster@mail.helo.test", "other.test");
    CHECK(mailfrom.scope == "mailfrom");
}
