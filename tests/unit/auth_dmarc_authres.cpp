// The RFC 8601 Authentication-Results value (src/auth/authres.cpp, tested with the DMARC part).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "relaygate/auth.hpp"

using relaygate::auth::authentication_results;
using relaygate::auth::DkimSignatureOutcome;
using relaygate::auth::DmarcOutcome;
using relaygate::auth::SpfOutcome;

TEST_CASE("Authentication-Results lists spf, each dkim signature and dmarc",
          "[auth_dmarc][authres]") {
    SpfOutcome spf;
    spf.result = "pass";
    spf.domain = "bounce.example.com";
    DkimSignatureOutcome good;
    good.result = "pass";
    good.domain = "example.com";
    good.selector = "s1";
    good.header_b = "abcd1234";
    DkimSignatureOutcome bad = good;
    bad.result = "fail";
    bad.reason = "body hash mismatch";
    bad.header_b = "ab/c+d==";
    DmarcOutcome dmarc;
    dmarc.result = "fail";
    dmarc.domain = "example.com";
    dmarc.policy = "reject";
    dmarc.disposition = "reject";

    CHECK(authentication_results("mx.example.net", spf, {good, bad}, dmarc) ==
          "mx.example.net; spf=pass smtp.mailfrom=bounce.example.com; "
          "dkim=pass header.d=example.com header.s=s1 header.b=abcd1234; "
          "dkim=fail (body hash mismatch) header.d=example.com header.s=s1 "
          "header.b=\"ab/c+d==\"; "
          "dmarc=fail (p=reject dis=reject) header.from=example.com");
}

TEST_CASE("Authentication-Results says none when there is nothing to report",
          "[auth_dmarc][authres]") {
    CHECK(authentication_results("mx.example.net", {}, {}, {}) == "mx.example.net; none");
}

TEST_CASE("Authentication-Results uses smtp.helo for the HELO scope and dkim=none",
          "[auth_dmarc][authres]") {
    SpfOutcome spf;
    spf.result = "softfail";
    spf.domain = "mail.example.org";
    spf.scope = "helo";
    spf.reason = "client not listed (see \"policy\")";
    DmarcOutcome dmarc;
    CHECK(authentication_results("mx", spf, {}, dmarc) ==
          "mx; spf=softfail (client not listed \\(see \"policy\"\\)) smtp.helo=mail.example.org; "
          "dkim=none; dmarc=none");
}

TEST_CASE("Authentication-Results quotes values that are not tokens",
          "[auth_dmarc][authres]") {
    DkimSignatureOutcome odd;
    odd.result = "permerror";
    odd.domain = "example.com";
    odd.selector = "a b";
    odd.reason = "key not found\r\nInjected: header";
    std::string value = authentication_results("relay one", {}, {odd}, {});
    CHECK(value == "\"relay one\"; spf=none; dkim=permerror (key not found  Injected: header) "
                   "header.d=example.com header.s=\"a b\"; dmarc=none");
    CHECK(value.find('\n') == std::string::npos);
}
