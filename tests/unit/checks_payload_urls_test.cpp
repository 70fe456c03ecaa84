// The payload layer's links: finding them, reading them as a browser does, and the findings.
#include <catch2/catch.hpp>

#include <chrono>
#include <map>

#include "checks/payload_urls.hpp"

using namespace relaygate;
using namespace relaygate::checks;

namespace {

// A resolver answering from a table; names not in it are NXDOMAIN; "fail" answers temperror.
class TableResolver : public dns::Resolver {
public:
    std::map<std::string, std::string> a_records;
    std::vector<std::string> asked;

    dns::Answer lookup(std::string_view name, dns::RecordType) override
    {
        asked.emplace_back(name);
        dns::Answer answer;
        auto it = a_records.find(std::string(name));
        if (it == a_records.end()) return answer;
        if (it->second == "fail") {
            answer.outcome = dns::Outcome::temperror;
            answer.detail = "timeout";
            return answer;
        }
        answer.outcome = dns::Outcome::found;
        answer.records = {it->second};
        return answer;
    }
};

Policy our_policy()
{
    Policy policy;
    policy.organization.domains = {"example.com"};
    return policy;
}

std::vector<Finding> findings_for(const std::vector<Link>& links, const Policy& policy,
                                  TableResolver& resolver, bool& temporary)
{
    std::vector<Finding> findings;
    check_links(links, policy, resolver, findings, temporary);
    return findings;
}

std::vector<Finding> findings_for(const std::vector<Link>& links)
{
    TableResolver resolver;
    bool temporary = false;
    return findings_for(links, our_policy(), resolver, temporary);
}

std::vector<std::string> ids(const std::vector<Finding>& findings)
{
    std::vector<std::string> out;
    for (const auto& finding : findings) out.push_back(finding.id);
    return out;
}

}  // namespace

TEST_CASE("links in plain text are found with their trailing punctuation left out",
          "[checks]")
{
    auto links = links_from_text("See https://a.example/x?y=1, or www.b.example. And "
                                 "(HTTP://C.EXAMPLE/z) but not xhttp://d.example or a.b.");
    REQUIRE(links.size() == 3);
    CHECK(links[0].href == "https://a.example/x?y=1");
    CHECK(links[1].href == "www.b.example");
    CHECK(links[2].href == "HTTP://C.EXAMPLE/z");
}

TEST_CASE("links in HTML come from a, area, form and img elements and from the text",
          "[checks]")
{
    auto links = links_from_html(
        "<html><body><a href=\"http://one.example/?a=1&amp;b=2\">Visit <b>one</b></a>"
        "<map><area href=\"http://two.example/\" alt=\"two.example\"></map>"
        "<form action=\"https://three.example/post\"></form><img src=\"http://four.example/i\">"
        "<p>plain http://five.example/ text</p></body></html>");
    REQUIRE(links.size() == 5);
    CHECK(links[0].href == "http://one.example/?a=1&b=2");
    CHECK(links[0].text == "Visit one");
    CHECK(links[0].source == "a");
    CHECK(links[1].source == "area");
    CHECK(links[1].text == "two.example");
    CHECK(links[2].href == "https://three.example/post");
    CHECK(links[3].source == "img");
    CHECK(links[4].href == "http://five.example/");
    CHECK(links[4].source == "text");
}

TEST_CASE("deeply nested HTML is parsed only to the nesting bound and the rest scanned as text",
          "[checks]")
{
    std::string html;
    for (int i = 0; i < 100000; ++i) html += "<div>";
    html += "<a href=\"http://deep.example/\">deep</a>";
    auto links = links_from_html(html);
    REQUIRE(links.size() == 1);
    CHECK(links[0].href == "http://deep.example/");
}

TEST_CASE("HTML with hundreds of thousands of elements is bounded in links and time",
          "[checks]")
{
    std::string html;
    for (int i = 0; i < 200000; ++i) html += "<a href=\"http://x.test/\">x</a>";
    auto start = std::chrono::steady_clock::now();
    auto links = links_from_html(html);
    CHECK(links.size() == kMaxLinksPerMessage);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(3));
}

TEST_CASE("URLs are read as a browser reads them", "[checks]")
{
    struct Row {
        const char* href;
        const char* host;
        bool is_ip;
        bool obfuscated;
    };
    const Row rows[] = {
        {"HTTP://WWW.Example.COM./x", "www.example.com", false, false},  // case, final dot
        {"http://ex%61mple.com/", "example.com", false, false},          // percent-encoded host
        {"https://exa\tmple.com\n/", "example.com", false, false},        // tabs, newlines dropped
        {"www.example.com/path", "www.example.com", false, false},        // no scheme
        {"http://b\xc3\xbc" "cher.example/", "xn--bcher-kva.example", false, false},  // IDN
        {"http://EXAMPLE.com:8080/", "example.com", false, false},         // port
        {"http://192.0.2.7/", "192.0.2.7", true, false},                  // dotted quad
        {"http://3221225991/", "192.0.2.7", true, true},                  // one decimal number
        {"http://0xC0000207/", "192.0.2.7", true, true},                  // one hex number
        {"http://0300.0.02.07/", "192.0.2.7", true, true},                // octal parts
        {"http://0xc0.0.519/", "192.0.2.7", true, true},                  // mixed, 3 parts
        {"http://[2001:DB8::1]:443/", "2001:db8::1", true, false},         // IPv6 literal
    };
    for (const Row& row : rows) {
        DYNAMIC_SECTION(row.href)
        {
            auto url = parse_url(row.href);
            REQUIRE(url);
            CHECK(url->host == row.host);
            CHECK(url->is_ip == row.is_ip);
            CHECK(url->obfuscated_ip == row.obfuscated);
        }
    }
}

TEST_CASE("userinfo before the host is separated from the real host", "[checks]")
{
    auto url = parse_url("http://paypal.com@evil.test/login");
    REQUIRE(url);
    CHECK(url->host == "evil.test");
    CHECK(url->userinfo == "paypal.com");
    url = parse_url("https://www.example.com%40login.evil.test@198.51.100.1/");
    REQUIRE(url);
    CHECK(url->host == "198.51.100.1");
}

TEST_CASE("backslashes are read as slashes in http links", "[checks]")
{
    auto url = parse_url("http:\\\\evil.test\\share");
    REQUIRE(url);
    CHECK(url->host == "evil.test");
    CHECK(url->backslash);
    url = parse_url("https://good.example/?q=a\\b");
    REQUIRE(url);
    CHECK_FALSE(url->backslash);
}

TEST_CASE("links without a host are not read as URLs", "[checks]")
{
    for (const char* href : {"mailto:a@example.com", "javascript:alert(1)", "/relative/path",
                             "cid:part1@example", "#top", "http://"}) {
        CHECK_FALSE(parse_url(href));
    }
}

TEST_CASE("the registrable domain follows the public suffix list", "[checks]")
{
    CHECK(registrable_domain("www.example.com") == "example.com");
    CHECK(registrable_domain("a.b.example.co.uk") == "example.co.uk");
    CHECK(registrable_domain("192.0.2.7") == "192.0.2.7");
    CHECK(has_known_suffix("example.com"));
    CHECK_FALSE(has_known_suffix("v1.2x"));
}

TEST_CASE("lookalikes of our domains are found by skeleton, punycode and edit distance",
          "[checks]")
{
    const std::vector<std::string> ours{"example.com"};
    struct Row {
        const char* href;
        bool lookalike;
    };
    const Row rows[] = {
        {"https://exarnple.com/", true},                  // rn for m
        {"https://examp1e.com/", true},                   // 1 for l
        {"https://\xd0\xb5xample.com/", true},            // Cyrillic e, IDN
        {"https://xn--xample-2of.com/", true},            // the same in punycode
        {"https://exmaple.com/", true},                   // transposition
        {"https://example.co/", true},                    // one edit
        {"https://example.com.evil.test/", true},         // ours as the leftmost labels
        {"https://mail.example.com/", false},             // ours
        {"https://example.com/", false},                  // ours
        {"https://unrelated.test/", false},
        {"https://192.0.2.7/", false},
    };
    for (const Row& row : rows) {
        DYNAMIC_SECTION(row.href)
        {
            auto url = parse_url(row.href);
            REQUIRE(url);
            CHECK(lookalike_of(*url, ours).has_value() == row.lookalike);
        }
    }
}

TEST_CASE("link text that shows another domain than the href is a finding", "[checks]")
{
    auto found = ids(findings_for({{"http://secure.evil.test/x", "https://www.example.com/", "a"},
                                   {"http://login.evil.test/", "paypal.com", "a"}}));
    CHECK(std::count(found.begin(), found.end(), "url_text_mismatch") == 2);
}

TEST_CASE("link text on the same registrable domain or without a domain is no mismatch",
          "[checks]")
{
    auto found = ids(findings_for({{"https://www.example.com/a", "example.com", "a"},
                                   {"https://evil.test/", "Click here", "a"},
                                   {"https://evil.test/", "e.g. this", "a"}}));
    CHECK(std::count(found.begin(), found.end(), "url_text_mismatch") == 0);
}

TEST_CASE("IP hosts, numeric hosts, userinfo and backslashes each give their finding",
          "[checks]")
{
    struct Row {
        const char* href;
        const char* id;
    };
    const Row rows[] = {
        {"http://192.0.2.7/x", "url_ip_literal"},
        {"http://3221225991/x", "url_numeric_host"},
        {"http://paypal.com@evil.test/", "url_userinfo"},
        {"http:\\\\evil.test\\x", "url_backslash"},
        {"https://exarnple.com/", "url_lookalike"},
    };
    for (const Row& row : rows) {
        DYNAMIC_SECTION(row.href)
        {
            auto found = ids(findings_for({{row.href, "", "text"}}));
            CHECK(std::count(found.begin(), found.end(), row.id) == 1);
        }
    }
}

TEST_CASE("URI blocklists are asked for the registrable domain, the host and reversed IPs",
          "[checks]")
{
    Policy policy = our_policy();
    Blocklist zone;
    zone.zone = "uribl.test";
    zone.weight = 3;
    zone.codes["127.0.0.2"] = {"phishing", 6};
    policy.payload.uribl = {zone};
    TableResolver resolver;
    resolver.a_records["evil.test.uribl.test"] = "127.0.0.2";
    resolver.a_records["7.2.0.192.uribl.test"] = "127.0.0.4";
    resolver.a_records["refused.test.uribl.test"] = "127.255.255.254";
    bool temporary = false;

    auto findings = findings_for({{"http://www.evil.test/", "", "text"},
                                  {"http://192.0.2.7/", "", "text"},
                                  {"http://refused.test/", "", "text"}},
                                 policy, resolver, temporary);
    std::vector<Finding> listed;
    for (const auto& finding : findings) {
        if (finding.id == "uribl_listed") listed.push_back(finding);
    }
    REQUIRE(listed.size() == 2);
    CHECK(listed[0].score == 6);  // the code's weight
    CHECK(listed[0].detail == "www.evil.test is listed in uribl.test: 127.0.0.2 (phishing)");
    CHECK(listed[1].score == 3);  // a code without an entry: the zone's weight
    CHECK(std::find(resolver.asked.begin(), resolver.asked.end(), "www.evil.test.uribl.test") !=
          resolver.asked.end());
    CHECK_FALSE(temporary);
}

TEST_CASE("a URI blocklist lookup that fails temporarily marks the message for tempfail",
          "[checks]")
{
    Policy policy = our_policy();
    policy.payload.uribl = {Blocklist{"uribl.test", 5, {}}};
    TableResolver resolver;
    resolver.a_records["slow.test.uribl.test"] = "fail";
    bool temporary = false;
    auto found = ids(findings_for({{"http://slow.test/", "", "text"}}, policy, resolver,
                                  temporary));
    CHECK(temporary);
    CHECK(std::count(found.begin(), found.end(), "uribl_error") == 1);
}

TEST_CASE("URI blocklist lookups per message are bounded", "[checks]")
{
    Policy policy = our_policy();
    policy.payload.uribl = {Blocklist{"uribl.test", 5, {}}};
    TableResolver resolver;
    std::vector<Link> links;
    for (int i = 0; i < 200; ++i) {
        links.push_back({"http://host" + std::to_string(i) + ".test/", "", "text"});
    }
    bool temporary = false;
    findings_for(links, policy, resolver, temporary);
    CHECK(resolver.asked.size() == kMaxUriblHosts);
}
