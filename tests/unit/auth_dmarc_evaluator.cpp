// DmarcEvaluator with an in-test resolver: discovery, alignment with libpsl, policies, pct=
// sampling, and the corrections of libopendmarc's answers (RFC 9989 specifics are in
// auth_dmarc_treewalk.cpp).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "auth/dmarc_engine.hpp"
#include "relaygate/auth.hpp"
#include "relaygate/message.hpp"
#include "unit/auth_dmarc_test_resolver.hpp"

using relaygate::Message;
using relaygate::auth::DkimSignatureOutcome;
using relaygate::auth::DmarcEvaluator;
using relaygate::auth::DmarcOutcome;
using relaygate::auth::SpfOutcome;
using dmarc_test::MapResolver;

namespace {

DkimSignatureOutcome dkim_pass(const std::string& domain) {
    DkimSignatureOutcome outcome;
    outcome.result = "pass";
    outcome.domain = domain;
    outcome.selector = "s1";
    return outcome;
}

SpfOutcome spf_pass(const std::string& domain, const std::string& scope = "mailfrom") {
    SpfOutcome outcome;
    outcome.result = "pass";
    outcome.domain = domain;
    outcome.scope = scope;
    return outcome;
}

DmarcOutcome evaluate(MapResolver& resolver, const std::string& from,
                      const std::vector<DkimSignatureOutcome>& dkim, const SpfOutcome& spf = {},
                      const std::string& key = "<id@example>") {
    DmarcEvaluator evaluator(resolver);
    Message message = Message::parse("From: " + from + "\r\nSubject: x\r\n\r\nbody\r\n");
    return evaluator.evaluate(message, spf, dkim, key);
}

}  // namespace

TEST_CASE("an aligned DKIM pass passes DMARC and the policy is reported", "[auth_dmarc]") {
    MapResolver resolver;
    resolver.txt["_dmarc.example.com"] = {"v=DMARC1; p=reject"};
    DmarcOutcome outcome = evaluate(resolver, "a@Mail.Example.COM", {dkim_pass("example.com")});
    CHECK(outcome.result == "pass");
    CHECK(outcome.domain == "mail.example.com");
    CHECK(outcome.record_domain == "example.com");
    CHECK(outcome.policy == "reject");
    CHECK(outcome.disposition == "none");
    CHECK(outcome.aligned_dkim);
    CHECK_FALSE(outcome.aligned_spf);
}

TEST_CASE("a public-suffix d= never aligns, whatever libopendmarc says", "[auth_dmarc]") {
    MapResolver resolver;
    resolver.txt["_dmarc.example.co.uk"] = {"v=DMARC1; p=reject"};
    resolver.txt["_dmarc.foo.github.io"] = {"v=DMARC1; p=reject"};
    DmarcOutcome icann = evaluate(resolver, "a@example.co.uk", {dkim_pass("co.uk")});
    CHECK(icann.result == "fail");
    CHECK_FALSE(icann.aligned_dkim);
    CHECK(icann.disposition == "reject");
    DmarcOutcome spf = evaluate(resolver, "a@example.co.uk", {}, spf_pass("CO.UK."));
    CHECK_FALSE(spf.aligned_spf);
    DmarcOutcome private_suffix = evaluate(resolver, "a@foo.github.io", {dkim_pass("github.io")});
    CHECK(private_suffix.result == "fail");
    // Strict equality is no excuse: a public suffix as the author domain aligns with nothing.
    resolver.txt["_dmarc.github.io"] = {"v=DMARC1; p=reject; adkim=s"};
    CHECK(evaluate(resolver, "a@github.io", {dkim_pass("github.io")}).result == "fail");
}

TEST_CASE("sibling subdomains under .test align relaxed through libpsl's default rule",
          "[auth_dmarc]") {
    MapResolver resolver;
    resolver.txt["_dmarc.example.test"] = {"v=DMARC1; p=quarantine"};
    DmarcOutcome outcome =
        evaluate(resolver, "a@news.example.test", {dkim_pass("mail.example.test")});
    CHECK(outcome.result == "pass");
    CHECK(outcome.record_domain == "example.test");
}

TEST_CASE("strict alignment needs the exact From domain", "[auth_dmarc]") {
    MapResolver resolver;
    resolver.txt["_dmarc.example.com"] = {"v=DMARC1; p=reject; adkim=s; aspf=s"};
    CHECK(evaluate(resolver, "a@news.example.com", {dkim_pass("example.com")}).result ==
          "fail");
    CHECK(evaluate(resolver, "a@example.com", {dkim_pass("example.com")}).result == "pass");
    CHECK(evaluate(resolver, "a@news.example.com", {}, spf_pass("example.com")).result ==
          "fail");
    CHECK(evaluate(resolver, "a@example.com", {}, spf_pass("example.com", "helo")).result ==
          "pass");
}

TEST_CASE("only passing DKIM signatures align", "[auth_dmarc]") {
    MapResolver resolver;
    resolver.txt["_dmarc.example.com"] = {"v=DMARC1; p=reject"};
    DkimSignatureOutcome failed = dkim_pass("example.com");
    failed.result = "fail";
    CHECK(evaluate(resolver, "a@example.com", {failed}).result == "fail");
}

TEST_CASE("sp= applies to a subdomain whose record is the organizational one",
          "[auth_dmarc]") {
    MapResolver resolver;
    resolver.txt["_dmarc.example.com"] = {"v=DMARC1; p=reject; sp=quarantine"};
    resolver.txt["_dmarc.own.example.com"] = {"v=DMARC1; p=none; sp=reject"};
    CHECK(evaluate(resolver, "a@example.com", {}).policy == "reject");
    CHECK(evaluate(resolver, "a@news.example.com", {}).policy == "quarantine");
    CHECK(evaluate(resolver, "a@own.example.com", {}).policy == "none");
}

TEST_CASE("pct= sampling is deterministic and downgrades the policy outside the sample",
          "[auth_dmarc]") {
    MapResolver resolver;
    resolver.txt["_dmarc.zero.example"] = {"v=DMARC1; p=reject; pct=0"};
    resolver.txt["_dmarc.half.example"] = {"v=DMARC1; p=quarantine; pct=50"};
    CHECK(evaluate(resolver, "a@zero.example", {}).disposition == "quarantine");

    int quarantined = 0;
    for (int i = 0; i < 1000; ++i) {
        std::string key = "<" + std::to_string(i) + "@example>";
        std::string first = evaluate(resolver, "a@half.example", {}, {}, key).disposition;
        CHECK(first == evaluate(resolver, "a@half.example", {}, {}, key).disposition);
        quarantined += first == "quarantine" ? 1 : 0;
    }
    CHECK(quarantined > 400);
    CHECK(quarantined < 600);
}

TEST_CASE("a non-numeric pct= is ignored, not read as 0 as libopendmarc does",
          "[auth_dmarc]") {
    MapResolver resolver;
    resolver.txt["_dmarc.example.com"] = {"v=DMARC1; p=reject; pct=abc"};
    DmarcOutcome outcome = evaluate(resolver, "a@example.com", {});
    CHECK(outcome.disposition == "reject");
    CHECK_THAT(outcome.reason, Catch::Contains("invalid pct= ignored"));
}

TEST_CASE("a record without a valid p= counts as p=none with rua=, else DMARC does not apply",
          "[auth_dmarc]") {
    MapResolver resolver;
    resolver.txt["_dmarc.example.com"] = {"v=DMARC1; rua=mailto:d@example.com"};
    resolver.txt["_dmarc.example.net"] = {"v=DMARC1; adkim=s"};
    resolver.txt["_dmarc.example.org"] = {"v=DMARC1; p=reject; np=bogus"};
    DmarcOutcome with_rua = evaluate(resolver, "a@example.com", {});
    CHECK(with_rua.result == "fail");
    CHECK(with_rua.policy == "none");
    CHECK(with_rua.disposition == "none");
    // RFC 7489 6.6.3 and RFC 9989 4.10.1: no DMARC processing, which is "none", not an error.
    DmarcOutcome without = evaluate(resolver, "a@example.net", {});
    CHECK(without.result == "none");
    CHECK_THAT(without.reason, Catch::Contains("no valid p="));
    DmarcOutcome bad_np = evaluate(resolver, "a@example.org", {});
    CHECK(bad_np.result == "none");
    CHECK_THAT(bad_np.reason, Catch::Contains("invalid np="));
}

TEST_CASE("discovery: temperror, several records, no record", "[auth_dmarc]") {
    MapResolver resolver;
    resolver.failing = {"_dmarc.slow.example"};
    resolver.txt["_dmarc.two.example"] = {"v=DMARC1; p=none", "v=DMARC1; p=reject"};
    resolver.txt["_dmarc.other.example"] = {"some unrelated text"};
    CHECK(evaluate(resolver, "a@slow.example", {}).result == "temperror");
    CHECK(evaluate(resolver, "a@two.example", {}).result == "none");
    CHECK(evaluate(resolver, "a@other.example", {}).result == "none");
    CHECK(evaluate(resolver, "a@nothing.example", {}).result == "none");
}

TEST_CASE("a From with several domains, none, or group syntax is permerror",
          "[auth_dmarc]") {
    MapResolver resolver;
    resolver.txt["_dmarc.example.com"] = {"v=DMARC1; p=reject"};
    // CVE-2019-16378: the second domain must not escape evaluation.
    DmarcOutcome several =
        evaluate(resolver, "a@example.com, b@evil.example", {dkim_pass("example.com")});
    CHECK(several.result == "permerror");
    CHECK_THAT(several.reason, Catch::Contains("several domains"));
    CHECK(evaluate(resolver, "a@example.com, b@EXAMPLE.com", {dkim_pass("example.com")})
              .result == "pass");
    CHECK(evaluate(resolver, "friends: a@example.com;", {dkim_pass("example.com")}).result ==
          "permerror");
    CHECK(evaluate(resolver, "undisclosed-recipients:;", {}).result == "permerror");
    CHECK(evaluate(resolver, "a@[192.0.2.1]", {}).result == "permerror");

    DmarcEvaluator evaluator(resolver);
    Message none = Message::parse("Subject: x\r\n\r\nbody\r\n");
    CHECK(evaluator.evaluate(none, {}, {}, "").result == "permerror");
    Message two = Message::parse("From: a@example.com\r\nFrom: b@example.com\r\n\r\nb\r\n");
    CHECK(evaluator.evaluate(two, {}, {}, "").reason == "message has 2 From fields");
}

TEST_CASE("organizational domains come from libpsl, lowercased, without trailing dot",
          "[auth_dmarc]") {
    MapResolver resolver;
    DmarcEvaluator evaluator(resolver);
    CHECK(evaluator.organizational_domain("Mail.Example.COM.") == "example.com");
    CHECK(evaluator.organizational_domain("a.b.example.co.uk") == "example.co.uk");
    CHECK(evaluator.organizational_domain("foo.bar.ck") == "foo.bar.ck");
    CHECK(evaluator.organizational_domain("sub.example.test") == "example.test");
    CHECK(evaluator.organizational_domain("co.uk") == "");
}

TEST_CASE("record parsing discards invalid tags instead of the whole record",
          "[auth_dmarc]") {
    std::string problem;
    auto record = relaygate::auth::detail::parse_dmarc_record(
        "v=DMARC1; p=quarantine; adkim=bogus; aspf=s; pct=150", "example.com", problem);
    REQUIRE(record);
    CHECK(record->p == "quarantine");
    CHECK_FALSE(record->strict_dkim);
    CHECK(record->strict_spf);
    CHECK(record->pct == 100);
    CHECK_FALSE(relaygate::auth::detail::parse_dmarc_record("v=DMARC1; p=bogus", "example.com",
                                                            problem));
}
