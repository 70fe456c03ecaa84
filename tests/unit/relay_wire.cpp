// The text side of relaying: upstream URLs, TLS policy, the DATA payload and added headers.
#include <catch2/catch.hpp>

#include <sstream>

#include "relaygate/relay.hpp"

using namespace relaygate;
using namespace relaygate::relay;

TEST_CASE("upstream URLs give host, port and TLS mode, and malformed ones are refused",
          "[relay]") {
    struct Row {
        const char* url;
        bool valid;
        const char* host;
        unsigned port;
        bool implicit_tls;
    };
    const Row rows[] = {
        {"smtp://relay.example.net:587", true, "relay.example.net", 587, false},
        {"smtp://relay.example.net", true, "relay.example.net", 25, false},   // default port
        {"smtps://relay.example.net", true, "relay.example.net", 465, true},  // implicit TLS
        {"SMTP://127.0.0.1:10026/", true, "127.0.0.1", 10026, false},          // case, slash
        {"smtp://[2001:db8::1]:2525", true, "2001:db8::1", 2525, false},       // IPv6 literal
        {"http://relay.example.net", false, "", 0, false},                     // wrong scheme
        {"relay.example.net:25", false, "", 0, false},                         // no scheme
        {"smtp://relay.example.net:0", false, "", 0, false},                   // port 0
        {"smtp://relay.example.net:70000", false, "", 0, false},               // port too big
        {"smtp://relay.example.net:25x", false, "", 0, false},                 // junk port
        {"smtp://user@relay.example.net", false, "", 0, false},                // userinfo
        {"smtp://2001:db8::1:25", false, "", 0, false},                        // bare IPv6
        {"smtp://:25", false, "", 0, false},                                   // no host
    };
    for (const auto& row : rows) {
        DYNAMIC_SECTION(row.url) {
            std::string problem;
            auto upstream = parse_upstream(row.url, &problem);
            REQUIRE(upstream.has_value() == row.valid);
            if (!row.valid) {
                CHECK(problem.starts_with("invalid upstream url"));
                continue;
            }
            CHECK(upstream->host == row.host);
            CHECK(upstream->port == row.port);
            CHECK(upstream->implicit_tls == row.implicit_tls);
        }
    }
}

TEST_CASE("STARTTLS is required for every host but loopback unless the policy relaxes it",
          "[relay]") {
    auto remote = *parse_upstream("smtp://relay.example.net:25", nullptr);
    auto loopback_v4 = *parse_upstream("smtp://127.0.0.2:25", nullptr);
    auto loopback_v6 = *parse_upstream("smtp://[::1]:25", nullptr);
    auto localhost = *parse_upstream("smtp://LocalHost:25", nullptr);
    auto not_loopback = *parse_upstream("smtp://128.0.0.1:25", nullptr);

    CHECK(tls_policy_for(remote, true) == TlsPolicy::required);
    CHECK(tls_policy_for(not_loopback, true) == TlsPolicy::required);
    CHECK(tls_policy_for(remote, false) == TlsPolicy::opportunistic);
    CHECK(tls_policy_for(loopback_v4, true) == TlsPolicy::none);
    CHECK(tls_policy_for(loopback_v6, true) == TlsPolicy::none);
    CHECK(tls_policy_for(localhost, true) == TlsPolicy::none);
    CHECK(parse_tls_policy("required") == TlsPolicy::required);
    CHECK_FALSE(parse_tls_policy("yes").has_value());
}

TEST_CASE("the DATA payload has CRLF line ends, dot-stuffing and the end marker", "[relay]") {
    struct Row {
        const char* name;
        std::string in;
        std::string want;
    };
    const Row rows[] = {
        {"LF made CRLF", "a\nb\n", "a\r\nb\r\n.\r\n"},
        {"CRLF kept", "a\r\nb\r\n", "a\r\nb\r\n.\r\n"},
        {"missing final line end added", "a\nb", "a\r\nb\r\n.\r\n"},
        {"leading dot doubled", ".hidden\n", "..hidden\r\n.\r\n"},
        {"lone dot line doubled", "a\n.\nb\n", "a\r\n..\r\nb\r\n.\r\n"},
        {"dot inside a line untouched", "a.b\n", "a.b\r\n.\r\n"},
        {"dot after CRLF doubled", "a\r\n.\r\n", "a\r\n..\r\n.\r\n"},
        {"empty message", "", ".\r\n"},
    };
    for (const auto& row : rows) {
        DYNAMIC_SECTION(row.name) { CHECK(data_payload(row.in) == row.want); }
    }
}

TEST_CASE("added header fields are folded within 78 columns and cannot inject fields",
          "[relay]") {
    std::string value = "relaygate; spf=pass smtp.mailfrom=sender@example.test; "
                        "dkim=pass header.d=example.test header.s=sel header.b=AbCdEfGh; "
                        "dmarc=pass header.from=example.test";
    auto field = fold_header("Authentication-Results", value, "\r\n");

    std::istringstream lines(field);
    std::string line;
    std::size_t count = 0;
    while (std::getline(lines, line)) {
        ++count;
        CHECK(line.size() <= header_fold_width + 1);  // + the CR that getline leaves
        if (count > 1) CHECK(line.front() == ' ');
    }
    CHECK(count >= 3);
    CHECK(field.ends_with("\r\n"));

    auto hostile = fold_header("X-Relaygate-Verdict", "reject\r\nBcc: victim@example.net", "\n");
    CHECK(hostile.find("\nBcc:") == std::string::npos);
    CHECK(hostile == "X-Relaygate-Verdict: reject Bcc: victim@example.net\n");
}

TEST_CASE("the verdict summary quotes the reason and bounds its length", "[relay]") {
    auto summary = verdict_summary(Action::quarantine, 7.5, "say \"hi\" \\ " +
                                                                std::string(500, 'x'));
    CHECK(summary.starts_with("quarantine; score=7.50; reason=\"say \\\"hi\\\" \\\\ "));
    CHECK(summary.size() < max_reason_in_header + 64);
}

TEST_CASE("relaygate's headers go on top in the message's own line-end style", "[relay]") {
    std::string lf_message = "From: a@example.test\nSubject: x\n\nbody\n";
    auto lf = with_relaygate_headers(lf_message, "relaygate; spf=pass", "accept; score=0.00");
    CHECK(lf == "Authentication-Results: relaygate; spf=pass\n"
                "X-Relaygate-Verdict: accept; score=0.00\n" + lf_message);

    std::string crlf_message = "From: a@example.test\r\n\r\nbody\r\n";
    auto crlf = with_relaygate_headers(crlf_message, "", "tempfail; score=0.00");
    CHECK(crlf == "X-Relaygate-Verdict: tempfail; score=0.00\r\n" + crlf_message);
}
