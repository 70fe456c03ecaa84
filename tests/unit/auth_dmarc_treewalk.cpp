// RFC 9989 (DMARCbis) in the DMARC adapter: the DNS tree walk and its 8-query cap, the
// organizational domain it determines (psd=), policy discovery (p=, sp=, np= and the PSD
// record), t=, the record syntax, and what stays from RFC 7489 (PSL mode, historic pct=).
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "auth/dmarc_engine.hpp"
#include "relaygate/auth.hpp"
#include "relaygate/message.hpp"
#include "unit/auth_dmarc_test_resolver.hpp"

using relaygate::Message;
using relaygate::auth::DkimSignatureOutcome;
using relaygate::auth::DmarcEvaluator;
using relaygate::auth::DmarcOptions;
using relaygate::auth::DmarcOutcome;
using relaygate::auth::SpfOutcome;
using dmarc_test::MapResolver;
namespace detail = relaygate::auth::detail;

namespace {

DkimSignatureOutcome dkim_pass(const std::string& domain) {
    DkimSignatureOutcome outcome;
    outcome.result = "pass";
    outcome.domain = domain;
    outcome.selector = "s1";
    return outcome;
}

DmarcOutcome evaluate(relaygate::dns::Resolver& resolver, const std::string& from,
                      const std::vector<DkimSignatureOutcome>& dkim = {},
                      const DmarcOptions& options = {}) {
    DmarcEvaluator evaluator(resolver, options);
    Message message = Message::parse("From: " + from + "\r\nSubject: x\r\n\r\nbody\r\n");
    return evaluator.evaluate(message, SpfOutcome{}, dkim, "<id@example>");
}

DmarcOptions rfc7489() {
    DmarcOptions options;
    options.tree_walk = false;
    return options;
}

std::string walk_organization(MapResolver& resolver, const std::string& domain) {
    detail::WalkLookups lookups(resolver);
    return detail::organizational_domain_of(lookups.walk(domain));
}

bool asked(MapResolver& resolver, const std::string& name) {
    std::vector<std::string> names = resolver.queries();
    return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

TEST_CASE("the tree walk asks at most 8 names, jumping to the last 7 labels of a long name",
          "[auth_dmarc]") {
    CHECK(detail::tree_walk_names("a.b.c.d.e.f.g.h.i.j.k.example.com") ==
          std::vector<std::string>{"a.b.c.d.e.f.g.h.i.j.k.example.com", "g.h.i.j.k.example.com",
                                   "h.i.j.k.example.com", "i.j.k.example.com", "j.k.example.com",
                                   "k.example.com", "example.com", "com"});
    // 8 labels: the parent has 7 already; 9 labels: the 8-label parent is skipped.
    CHECK(detail::tree_walk_names("a.b.c.d.e.f.example.com").size() == 8);
    CHECK(detail::tree_walk_names("a.b.c.d.e.f.example.com")[1] == "b.c.d.e.f.example.com");
    CHECK(detail::tree_walk_names("a.b.c.d.e.f.g.example.com").size() == 8);
    CHECK(detail::tree_walk_names("a.b.c.d.e.f.g.example.com")[1] == "c.d.e.f.g.example.com");
    CHECK(detail::tree_walk_names("mail.example.com") ==
          std::vector<std::string>{"mail.example.com", "example.com", "com"});
    CHECK(detail::tree_walk_names("com") == std::vector<std::string>{"com"});

    MapResolver resolver;
    std::string deep = "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.example.com";
    evaluate(resolver, "x@" + deep);
    CHECK(resolver.queries().size() == 8);
}

TEST_CASE("the organizational domain follows psd= and otherwise the highest record",
          "[auth_dmarc]") {
    MapResolver resolver;
    resolver.txt["_dmarc.mail.example.com"] = {"v=DMARC1; p=none"};
    resolver.txt["_dmarc.example.com"] = {"v=DMARC1; p=reject"};
    CHECK(walk_organization(resolver, "a.mail.example.com") == "example.com");

    // psd=n ends the walk: the parent is not even asked.
    resolver.txt["_dmarc.mail.example.com"] = {"v=DMARC1; p=none; psd=n"};
    resolver.forget_queries();
    CHECK(walk_organization(resolver, "a.mail.example.com") == "mail.example.com");
    CHECK_FALSE(asked(resolver, "_dmarc.example.com"));

    MapResolver psd;
    psd.txt["_dmarc.com"] = {"v=DMARC1; p=reject; psd=y"};
    CHECK(walk_organization(psd, "a.mail.example.com") == "example.com");
    // At the start of the walk psd=y makes no one below: the name is its own.
    CHECK(walk_organization(psd, "com") == "com");
    // After the jump to 7 labels, "one below" is rebuilt from the start, unasked.
    psd.txt["_dmarc.e.f.g.h.i.example.com"] = {"v=DMARC1; p=none; psd=y"};
    CHECK(walk_organization(psd, "a.b.c.d.e.f.g.h.i.example.com") == "d.e.f.g.h.i.example.com");

    MapResolver none;
    CHECK(walk_organization(none, "a.mail.example.com") == "a.mail.example.com");
    none.txt["_dmarc.example.com"] = {"v=DMARC1; p=none", "v=DMARC1; p=reject"};
    CHECK(walk_organization(none, "a.mail.example.com") == "a.mail.example.com");
}

TEST_CASE("policy comes from the author domain, else its organizational domain, else its PSD",
          "[auth_dmarc]") {
    MapResolver resolver;
    resolver.txt["_dmarc.mail.example.com"] = {"v=DMARC1; p=reject"};
    resolver.txt["_dmarc.example.com"] = {"v=DMARC1; p=none; sp=quarantine"};
    DmarcOutcome intermediate = evaluate(resolver, "x@a.mail.example.com");
    CHECK(intermediate.record_domain == "example.com");
    CHECK(intermediate.organizational_domain == "example.com");
    CHECK(intermediate.policy == "quarantine");
    CHECK_THAT(intermediate.reason, Catch::Contains("sp=quarantine of _dmarc.example.com"));

    resolver.txt["_dmarc.mail.example.com"] = {"v=DMARC1; p=reject; psd=n"};
    DmarcOutcome own_org = evaluate(resolver, "x@a.mail.example.com");
    CHECK(own_org.record_domain == "mail.example.com");
    CHECK(own_org.policy == "reject");

    MapResolver psd;
    psd.txt["_dmarc.example"] = {"v=DMARC1; p=none; sp=quarantine; np=reject; psd=y"};
    psd.hosts = {"real.example"};
    DmarcOutcome existing = evaluate(psd, "x@real.example");
    CHECK(existing.organizational_domain == "real.example");
    CHECK(existing.record_domain == "example");
    CHECK(existing.policy == "quarantine");
    CHECK(evaluate(psd, "x@ghost.example").policy == "reject");
}

TEST_CASE("np= applies only to a From domain that does not exist", "[auth_dmarc]") {
    MapResolver resolver;
    resolver.txt["_dmarc.example.com"] = {"v=DMARC1; p=none; sp=quarantine; np=reject"};
    resolver.txt["_dmarc.listed.example.com"] = {"not a dmarc record"};
    resolver.hosts = {"real.example.com"};
    DmarcOutcome ghost = evaluate(resolver, "x@ghost.example.com");
    CHECK(ghost.policy == "reject");
    CHECK(ghost.disposition == "reject");
    CHECK_THAT(ghost.reason, Catch::Contains("np=reject"));
    CHECK(evaluate(resolver, "x@real.example.com").policy == "quarantine");
    CHECK(evaluate(resolver, "x@example.com").policy == "none");

    // A _dmarc name that exists proves its parent exists: no A lookup is needed.
    resolver.forget_queries();
    CHECK(evaluate(resolver, "x@listed.example.com").policy == "quarantine");
    CHECK_FALSE(asked(resolver, "listed.example.com"));

    // Without np= the existence of the From domain does not matter and is not asked.
    resolver.txt["_dmarc.example.com"] = {"v=DMARC1; p=none; sp=quarantine"};
    resolver.forget_queries();
    CHECK(evaluate(resolver, "x@ghost.example.com").policy == "quarantine");
    CHECK_FALSE(asked(resolver, "ghost.example.com"));

    // Existence unknown: a failing message cannot get its policy; a passing one still passes.
    resolver.txt["_dmarc.example.com"] = {"v=DMARC1; p=none; np=reject"};
    resolver.failing = {"ghost.example.com"};
    CHECK(evaluate(resolver, "x@ghost.example.com").result == "temperror");
    CHECK(evaluate(resolver, "x@ghost.example.com", {dkim_pass("example.com")}).result ==
          "pass");
}

TEST_CASE("t=y asks for the policy one level below, and t= outranks the historic pct=",
          "[auth_dmarc]") {
    MapResolver resolver;
    auto disposition = [&](const std::string& record) {
        resolver.txt["_dmarc.example.com"] = {record};
        return evaluate(resolver, "x@example.com").disposition;
    };
    CHECK(disposition("v=DMARC1; p=reject; t=y") == "quarantine");
    CHECK(disposition("v=DMARC1; p=quarantine; t=y") == "none");
    CHECK(disposition("v=DMARC1; p=none; t=y") == "none");
    CHECK(disposition("v=DMARC1; p=reject; t=Y") == "quarantine");
    CHECK(disposition("v=DMARC1; p=reject; t=n") == "reject");
    CHECK(disposition("v=DMARC1; p=reject; t=n; pct=0") == "reject");
    CHECK(disposition("v=DMARC1; p=reject; pct=0") == "quarantine");
    CHECK(disposition("v=DMARC1; p=reject; t=maybe") == "reject");
    CHECK_THAT(evaluate(resolver, "x@example.com").reason, Catch::Contains("invalid t="));

    resolver.txt["_dmarc.example.com"] = {"v=DMARC1; p=reject; t=y"};
    DmarcOutcome passing = evaluate(resolver, "x@example.com", {dkim_pass("example.com")});
    CHECK(passing.policy == "reject");
    CHECK(passing.disposition == "none");
}

TEST_CASE("several DMARC records at one name are skipped by the walk, and end RFC 7489 discovery",
          "[auth_dmarc]") {
    MapResolver resolver;
    resolver.txt["_dmarc.two.example.com"] = {"v=DMARC1; p=none", "v=DMARC1; p=reject"};
    resolver.txt["_dmarc.example.com"] = {"v=DMARC1; p=quarantine"};
    DmarcOutcome walked = evaluate(resolver, "x@two.example.com");
    CHECK(walked.result == "fail");
    CHECK(walked.record_domain == "example.com");
    CHECK(walked.policy == "quarantine");
    CHECK_THAT(walked.reason, Catch::Contains("several DMARC records at _dmarc.two.example.com"));
    DmarcOutcome legacy = evaluate(resolver, "x@two.example.com", {}, rfc7489());
    CHECK(legacy.result == "none");
}

TEST_CASE("a walk lookup that times out is temperror only where its answer is needed",
          "[auth_dmarc]") {
    MapResolver resolver;
    resolver.txt["_dmarc.example.com"] = {"v=DMARC1; p=reject"};
    resolver.failing = {"_dmarc.com"};
    CHECK(evaluate(resolver, "x@example.com", {dkim_pass("example.com")}).result == "pass");
    CHECK(evaluate(resolver, "x@example.com").result == "fail");
    DmarcOutcome relaxed = evaluate(resolver, "x@example.com", {dkim_pass("mail.example.com")});
    CHECK(relaxed.result == "temperror");
    CHECK_THAT(relaxed.reason, Catch::Contains("_dmarc.com"));

    resolver.failing = {"_dmarc.example.com"};
    CHECK(evaluate(resolver, "x@mail.example.com").result == "temperror");
}

TEST_CASE("a subdomain whose parent publishes no record is its own organizational domain",
          "[auth_dmarc]") {
    MapResolver resolver;
    resolver.txt["_dmarc.my.example.com"] = {"v=DMARC1; p=reject"};
    // RFC 9989 4.10.2: only my.example.com has a record, so the parent's d= does not align;
    // RFC 7489's PSL puts both under example.com.
    CHECK(evaluate(resolver, "x@my.example.com", {dkim_pass("example.com")}).result == "fail");
    CHECK(evaluate(resolver, "x@my.example.com", {dkim_pass("example.com")}, rfc7489()).result ==
          "pass");
    resolver.txt["_dmarc.example.com"] = {"v=DMARC1; p=none"};
    CHECK(evaluate(resolver, "x@my.example.com", {dkim_pass("example.com")}).result == "pass");
}

TEST_CASE("a record at a public suffix without psd=y lets no two registrants align",
          "[auth_dmarc]") {
    MapResolver resolver;
    resolver.txt["_dmarc.co.uk"] = {"v=DMARC1; p=reject"};
    DmarcOutcome outcome = evaluate(resolver, "x@example.co.uk", {dkim_pass("evil.co.uk")});
    CHECK(outcome.organizational_domain == "co.uk");
    CHECK(outcome.record_domain == "co.uk");
    CHECK(outcome.result == "fail");
    CHECK_FALSE(outcome.aligned_dkim);
}

TEST_CASE("policy and alignment words are RFC literals, not libopendmarc's abbreviations",
          "[auth_dmarc]") {
    MapResolver resolver;
    resolver.txt["_dmarc.example.com"] = {"v=DMARC1; p=r"};
    CHECK(evaluate(resolver, "x@example.com").result == "none");
    resolver.txt["_dmarc.example.com"] = {"v=DMARC1; p=r; rua=mailto:d@example.com"};
    CHECK(evaluate(resolver, "x@example.com").policy == "none");
    resolver.txt["_dmarc.example.com"] = {"v=DMARC1; p=REJECT; adkim=strict"};
    DmarcOutcome relaxed = evaluate(resolver, "x@news.example.com", {dkim_pass("example.com")});
    CHECK(relaxed.result == "pass");
    CHECK_THAT(relaxed.reason, Catch::Contains("invalid adkim= ignored"));
    resolver.txt["_dmarc.example.com"] = {"v=DMARC1; p=reject; adkim=S"};
    CHECK(evaluate(resolver, "x@news.example.com", {dkim_pass("example.com")}).result ==
          "fail");
}

TEST_CASE("only a record whose first tag is exactly v=DMARC1 is a DMARC record", "[auth_dmarc]") {
    CHECK(detail::is_dmarc_record("v=DMARC1; p=reject"));
    CHECK(detail::is_dmarc_record("v = DMARC1; p=reject"));
    CHECK(detail::is_dmarc_record("V=DMARC1"));
    CHECK(detail::is_dmarc_record("v=DMARC1;p=none"));
    CHECK_FALSE(detail::is_dmarc_record("v=dmarc1; p=reject"));
    CHECK_FALSE(detail::is_dmarc_record("v=DMARC1x; p=reject"));
    CHECK_FALSE(detail::is_dmarc_record("v=DMARC1 x; p=reject"));
    CHECK_FALSE(detail::is_dmarc_record("p=reject; v=DMARC1"));
    CHECK_FALSE(detail::is_dmarc_record("v=spf1 -all"));
}

TEST_CASE("tag values that are not ABNF literals keep their case", "[auth_dmarc]") {
    std::string problem;
    auto record = detail::parse_dmarc_record(
        "v=DMARC1; p=none; rua=mailto:DMARC-Reports@Example.COM", "example.com", problem);
    REQUIRE(record);
    CHECK(record->rua == "mailto:DMARC-Reports@Example.COM");
    CHECK(record->psd == 'u');
    CHECK(detail::psd_flag("v=DMARC1; p=none; psd=N") == 'n');
    CHECK(detail::psd_flag("v=DMARC1; p=none; psd=maybe") == 'u');
}

TEST_CASE("a record split into several TXT strings is read whole", "[auth_dmarc]") {
    std::filesystem::path zone = std::filesystem::temp_directory_path() /
                                 ("relaygate-dmarc-chunked-" + std::to_string(::getpid()) +
                                  ".zone");
    {
        std::ofstream out(zone);
        out << "_dmarc.example.com. 300 IN TXT \"v=DMARC1; \" \"p=reject; \" \"t=y\"\n";
    }
    auto resolver = relaygate::dns::make_zone_resolver({zone.string()});
    std::filesystem::remove(zone);
    DmarcOutcome outcome = evaluate(*resolver, "x@example.com");
    CHECK(outcome.policy == "reject");
    CHECK(outcome.disposition == "quarantine");
}

TEST_CASE("a flood of authenticated identifiers cannot make unbounded lookups",
          "[auth_dmarc]") {
    MapResolver resolver;
    resolver.txt["_dmarc.x.example.com"] = {"v=DMARC1; p=reject; psd=n"};
    std::vector<DkimSignatureOutcome> flood;
    for (int i = 0; i < 100; ++i) {
        flood.push_back(dkim_pass("s" + std::to_string(i) + ".y.example.com"));
    }
    DmarcOutcome outcome = evaluate(resolver, "x@x.example.com", flood);
    CHECK(outcome.result == "fail");
    CHECK_THAT(outcome.reason, Catch::Contains("not checked"));
    CHECK(resolver.queries().size() <= 20);
}

TEST_CASE("one evaluator serves several threads with the same answers", "[auth_dmarc]") {
    MapResolver resolver;
    resolver.txt["_dmarc.example.com"] = {"v=DMARC1; p=reject; sp=quarantine; np=none"};
    resolver.txt["_dmarc.example.net"] = {"v=DMARC1; p=quarantine; t=y"};
    resolver.hosts = {"real.example.com"};
    DmarcEvaluator evaluator(resolver);
    const std::vector<std::string> froms = {"a@example.com", "a@real.example.com",
                                            "a@ghost.example.com", "a@mail.example.net"};
    auto run = [&](const std::string& from) {
        Message message = Message::parse("From: " + from + "\r\n\r\nbody\r\n");
        DmarcOutcome outcome = evaluator.evaluate(message, {}, {dkim_pass("example.net")}, "k");
        return outcome.result + " " + outcome.policy + " " + outcome.disposition;
    };
    std::vector<std::string> expected;
    for (const std::string& from : froms) {
        expected.push_back(run(from));
    }
    CHECK(expected == std::vector<std::string>{"fail reject reject", "fail quarantine quarantine",
                                               "fail none none", "pass quarantine none"});

    constexpr int kThreads = 4;
    constexpr int kRounds = 200;
    std::vector<int> wrong(kThreads, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kRounds; ++i) {
                std::size_t which = static_cast<std::size_t>(i + t) % froms.size();
                wrong[static_cast<std::size_t>(t)] += run(froms[which]) != expected[which];
            }
        });
    }
    for (std::thread& thread : threads) {
        thread.join();
    }
    CHECK(std::count(wrong.begin(), wrong.end(), 0) == kThreads);
}
